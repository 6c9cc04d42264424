-- pgbench: the statements Q2 costs the server with the cache disabled: the
-- page (one row more, to know whether another follows) and 6 orders of each
-- of its customers in one LATERAL statement.
SELECT id, name, email, phone, created_at FROM customers ORDER BY id ASC LIMIT 51;
SELECT o.id, o.customer_id, o.total_cents, o.status, o.created_at FROM unnest('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50}'::bigint[]) AS p(cid) CROSS JOIN LATERAL (SELECT id, customer_id, total_cents, status, created_at FROM orders o WHERE o.customer_id = p.cid ORDER BY o.created_at DESC, o.id DESC LIMIT 6) o;
