DROP TABLE clinic_invitations;
