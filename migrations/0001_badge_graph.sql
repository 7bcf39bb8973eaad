-- Badge systems, issuers, programs and badges; the many-to-many graph that links them; client keys.
-- Explicit links: issuer_systems, program_issuers, badge_programs, badges.issuer_id, badges.system_id.
-- Derived reachability (kept by badgekit/db/graph.py in the same transaction as every link change):
-- system_programs, system_badges, issuer_badges. Their UNIQUE (system_id, slug) keys are what
-- refuse an ambiguous slug, and their primary keys let every listing stream in id order.

CREATE TABLE systems (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  url VARCHAR(255) NULL,
  description TEXT NULL,
  email VARCHAR(255) NULL,
  image_url VARCHAR(255) NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY systems_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE issuers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  url VARCHAR(255) NULL,
  description TEXT NULL,
  email VARCHAR(255) NULL,
  image_url VARCHAR(255) NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE programs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  url VARCHAR(255) NULL,
  description TEXT NULL,
  email VARCHAR(255) NULL,
  image_url VARCHAR(255) NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE badges (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  strapline VARCHAR(140) NULL,
  earner_description TEXT NULL,
  consumer_description TEXT NULL,
  issuer_url VARCHAR(255) NULL,
  rubric_url VARCHAR(255) NULL,
  criteria_url VARCHAR(255) NULL,
  image_url VARCHAR(255) NULL,
  type VARCHAR(255) NULL,
  evidence_type VARCHAR(16) NULL,
  time_value INT UNSIGNED NULL,
  time_units VARCHAR(16) NULL,
  award_limit INT UNSIGNED NULL,
  is_unique TINYINT(1) NOT NULL DEFAULT 0,
  archived TINYINT(1) NOT NULL DEFAULT 0,
  criteria JSON NOT NULL,
  alignments JSON NOT NULL,
  categories JSON NOT NULL,
  tags JSON NOT NULL,
  system_id BIGINT UNSIGNED NULL COMMENT 'set when created directly under a system',
  issuer_id BIGINT UNSIGNED NULL COMMENT 'the Open Badges issuer of this badge class',
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY badges_system (system_id),
  KEY badges_issuer (issuer_id),
  CONSTRAINT badges_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE SET NULL,
  CONSTRAINT badges_issuer_fk FOREIGN KEY (issuer_id) REFERENCES issuers (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE issuer_systems (
  system_id BIGINT UNSIGNED NOT NULL,
  issuer_id BIGINT UNSIGNED NOT NULL,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL COMMENT 'copy of issuers.slug: one issuer per slug per system',
  PRIMARY KEY (system_id, issuer_id),
  UNIQUE KEY issuer_systems_slug (system_id, slug),
  KEY issuer_systems_issuer (issuer_id),
  CONSTRAINT issuer_systems_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE,
  CONSTRAINT issuer_systems_issuer_fk FOREIGN KEY (issuer_id) REFERENCES issuers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE program_issuers (
  issuer_id BIGINT UNSIGNED NOT NULL,
  program_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (issuer_id, program_id),
  KEY program_issuers_program (program_id),
  CONSTRAINT program_issuers_issuer_fk FOREIGN KEY (issuer_id) REFERENCES issuers (id) ON DELETE CASCADE,
  CONSTRAINT program_issuers_program_fk FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE badge_programs (
  program_id BIGINT UNSIGNED NOT NULL,
  badge_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (program_id, badge_id),
  KEY badge_programs_badge (badge_id),
  CONSTRAINT badge_programs_program_fk FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
  CONSTRAINT badge_programs_badge_fk FOREIGN KEY (badge_id) REFERENCES badges (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE system_programs (
  system_id BIGINT UNSIGNED NOT NULL,
  program_id BIGINT UNSIGNED NOT NULL,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (system_id, program_id),
  UNIQUE KEY system_programs_slug (system_id, slug),
  KEY system_programs_program (program_id),
  CONSTRAINT system_programs_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE,
  CONSTRAINT system_programs_program_fk FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE system_badges (
  system_id BIGINT UNSIGNED NOT NULL,
  badge_id BIGINT UNSIGNED NOT NULL,
  slug VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (system_id, badge_id),
  UNIQUE KEY system_badges_slug (system_id, slug),
  KEY system_badges_badge (badge_id),
  CONSTRAINT system_badges_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE,
  CONSTRAINT system_badges_badge_fk FOREIGN KEY (badge_id) REFERENCES badges (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE issuer_badges (
  issuer_id BIGINT UNSIGNED NOT NULL,
  badge_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (issuer_id, badge_id),
  KEY issuer_badges_badge (badge_id),
  CONSTRAINT issuer_badges_issuer_fk FOREIGN KEY (issuer_id) REFERENCES issuers (id) ON DELETE CASCADE,
  CONSTRAINT issuer_badges_badge_fk FOREIGN KEY (badge_id) REFERENCES badges (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE client_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  key_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  salt VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'secret = HMAC(BADGEKIT_KEY_SECRET, key_id:salt), never stored',
  system_id BIGINT UNSIGNED NOT NULL,
  description VARCHAR(255) NULL,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY client_keys_key (key_id),
  KEY client_keys_system (system_id),
  CONSTRAINT client_keys_system_fk FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE used_tokens (
  key_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  jti VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  expires DATETIME NOT NULL,
  PRIMARY KEY (key_id, jti),
  KEY used_tokens_expires (expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
