// Package postgres stores sso accounts in PostgreSQL and implements
// auth.Users and auth.Accounts (Users). It owns the sso schema, applied by
// Migrate.
//
// # Schema
//
//	users     the accounts, hash-partitioned by e-mail into N tables
//	          users_p0 .. users_p<N-1>; primary key (email)
//	user_ids  id -> e-mail, one row per user, written with it
//	outbox    events written in the same transaction as the change they
//	          announce (the UserRegistered of each new user, the account
//	          events of accounts.go), for the relay that publishes them to
//	          Kafka
//	one_time_tokens  the SHA-256 of mailed verification and reset tokens,
//	          consumed by one conditional UPDATE, so each works once
//
// The e-mail is the key of almost every lookup (login), so it is the
// partition key, and a lookup by e-mail reads one partition. A lookup by id
// reads one row of user_ids, then the one partition of users that e-mail
// hashes to; it never scans every partition. N is chosen when users is
// created (Migrate's partitions); changing it later needs a data migration
// that moves every row, so Migrate keeps the existing partitions.
//
// # Reads and replicas
//
// Writes go to the primary. Reads go to the replica and fall back to the
// primary when the replica does not have the row yet or does not answer, so
// a user just registered can log in at once, whatever the replication lag.
// Current and CurrentByEmail read the primary only: logins and the account
// flows must not judge a password against a replica's older copy.
// Errors other than user.ErrNotFound and user.ErrEmailTaken are the
// database's, wrapped with the prefix "postgres: ".
package postgres
