-- Access tokens issued before this time are refused: set when the user signs out, changes
-- their password, or a replayed refresh token reveals a theft. NULL: no such event yet.
ALTER TABLE users ADD COLUMN tokens_valid_after TIMESTAMP;
