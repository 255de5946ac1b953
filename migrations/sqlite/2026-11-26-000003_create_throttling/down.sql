DROP TABLE rate_buckets;
DROP TABLE login_failures;
