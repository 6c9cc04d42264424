-- wrk: Q1, one customer by a random id (CUSTOMERS ids exist).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
request = function()
  local id = math.random(1, customers)
  return wrk.format(nil, nil, nil,
    '{"query":"query Q1($id: ID!) { customer(id: $id) { id name email } }","variables":{"id":"' .. id .. '"}}')
end
