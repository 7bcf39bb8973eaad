-- Awards (badge instances), claim codes and idempotency keys.
-- An award belongs to the system that made it: another system sharing the badge never sees it.
-- unique_guard is 1 for a live award of a unique badge and NULL otherwise, so the UNIQUE key
-- refuses a second live award of a unique badge to one email, race-free, and a revoke frees it.

CREATE TABLE awards (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'random, public: the assertion id',
  system_id BIGINT UNSIGNED NOT NULL,
  badge_id BIGINT UNSIGNED NOT NULL,
  email VARCHAR(255) NOT NULL COMMENT 'trimmed and lower-cased',
  salt CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  issued_on DATETIME NOT NULL,
  expires DATETIME NULL,
  evidence JSON NULL COMMENT 'list of {url, narrative}',
  narrative TEXT NULL,
  claim_code VARCHAR(255) NULL,
  revoked DATETIME NULL,
  revocation_reason VARCHAR(255) NULL,
  unique_guard TINYINT NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY awards_slug (slug),
  UNIQUE KEY awards_unique (system_id, badge_id, email, unique_guard),
  KEY awards_system (system_id, id),
  KEY awards_system_badge (system_id, badge_id, id),
  KEY awards_system_email (system_id, email, id),
  KEY awards_badge (badge_id),
  CONSTRAINT awards_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE,
  CONSTRAINT awards_badge_fk FOREIGN KEY (badge_id) REFERENCES badges (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE claim_codes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  system_id BIGINT UNSIGNED NOT NULL,
  badge_id BIGINT UNSIGNED NOT NULL,
  code VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  multiuse TINYINT(1) NOT NULL DEFAULT 0,
  email VARCHAR(255) NULL COMMENT 'if set, only this email may claim it',
  claimed DATETIME NULL COMMENT 'first claim',
  uses INT UNSIGNED NOT NULL DEFAULT 0,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY claim_codes_code (system_id, badge_id, code),
  KEY claim_codes_system (system_id, id),
  KEY claim_codes_badge (badge_id),
  CONSTRAINT claim_codes_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE,
  CONSTRAINT claim_codes_badge_fk FOREIGN KEY (badge_id) REFERENCES badges (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE idempotency_keys (
  key_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'the signing key (master or client key id)',
  idempotency_key VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  request_hash CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'sha256 of method, path and body',
  status SMALLINT NULL COMMENT 'NULL while the first request is still running',
  headers JSON NULL,
  body LONGBLOB NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (key_id, idempotency_key),
  KEY idempotency_keys_created (created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
