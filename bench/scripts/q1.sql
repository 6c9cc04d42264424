-- pgbench: the statement Q1 costs the server with the cache disabled.
\set id random(1, :customers)
SELECT id, name, email, phone, created_at FROM customers WHERE id IN (:id);
