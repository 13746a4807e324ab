// Package postgres keeps the welcome-notifier's idempotency record in
// PostgreSQL: welcome.Ledger (Ledger) over two tables in the notifier's own
// database: welcome_mails, one row per user (one welcome each), and
// account_mails, one row per account event (each request for a link, each
// password change, is its own mail). Migrate applies the schema.
//
// # How one mail per user holds
//
// Ledger.Once runs in one transaction: it inserts the mail's row (the user's, or the
// event's) if there is none, locks it (SELECT ... FOR UPDATE), returns at once when the row
// says sent, and otherwise counts the attempt, calls send and marks the row
// sent, then commits. A second delivery of the same user's event (a
// rebalance handing the partition to another consumer mid-message) waits
// on the lock and then finds the row sent. The lock lasts as long as one
// SMTP delivery, which the sender bounds with its timeout. When send fails
// the transaction still commits, keeping the attempt count and the error
// for operators; the row stays 'sending' and the next delivery tries again.
//
// If the process dies, or the commit fails, after SMTP accepted the mail,
// the row is not marked sent and the mail goes out again on redelivery
// with the same Message-ID: see package welcome.
//
// Errors are the database's, wrapped with the prefix "postgres: ".
package postgres
