DROP TABLE admin_sessions;
DROP TABLE staff_recovery_codes;
DROP TABLE staff_second_factors;
