-- wrk: a customer's own page, its row and a page of its orders, as a shop's
-- "my orders" screen asks it. TOKEN: the bearer token (a customer's for
-- CUSTOMER_ID, or a reader's); CUSTOMER_ID: the customer (default 42).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
local id = os.getenv("CUSTOMER_ID") or "42"
wrk.body = '{"query":"query Mine($id: ID!) { customer(id: $id) { id name email orders(first: 10) { nodes { id total status createdAt } } } }","variables":{"id":"' .. id .. '"}}'
