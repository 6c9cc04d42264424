-- wrk: Q2, the first page of 50 customers with 5 orders each.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query Q2 { customers(first: 50) { nodes { id name orders(first: 5) { nodes { id total createdAt } } } } }"}'
