DROP TABLE patient_doctor_mappings;
DROP TABLE doctors;
DROP TABLE patients;
