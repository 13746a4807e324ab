package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

var _ auth.Directory = (*Users)(nil)

// List returns one page of users for the admin listing, in (created_at, id)
// order, from the replica (the primary when the replica cannot answer).
//
// The statement is built for the filters present and run unprepared: lib/pq
// then sends it as an unnamed statement, which PostgreSQL plans with the
// actual values, so `email LIKE 'ada%'` becomes a range scan of each
// partition's users_email_pattern_idx. A prepared generic plan would see
// only `LIKE $1` and could use no index for it.
func (r *Users) List(ctx context.Context, q auth.UserQuery) ([]user.User, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.EmailPrefix != "" {
		where = append(where, "u.email LIKE "+arg(likePrefix(q.EmailPrefix)))
	}
	if !q.CreatedAfter.IsZero() {
		where = append(where, "u.created_at > "+arg(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		where = append(where, "u.created_at < "+arg(q.CreatedBefore))
	}
	if q.After != nil {
		where = append(where, "(u.created_at, u.id) > ("+arg(q.After.CreatedAt)+", "+arg(q.After.ID)+"::uuid)")
	}
	query := selectUser
	if len(where) > 0 {
		query += "\n\tWHERE " + strings.Join(where, " AND ")
	}
	query += "\n\tORDER BY u.created_at, u.id\n\tLIMIT " + arg(q.Limit)

	if r.replica != nil {
		users, err := list(ctx, r.replica.db, query, args)
		if err == nil || ctx.Err() != nil {
			return users, err
		}
	}
	return list(ctx, r.primary.db, query, args)
}

func list(ctx context.Context, db *sqlx.DB, query string, args []any) ([]user.User, error) {
	var rows []userRow
	if err := db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	out := make([]user.User, len(rows))
	for i, row := range rows {
		out[i] = row.user()
	}
	return out, nil
}

// likePrefix is the LIKE pattern matching strings that start with p: its
// wildcards and the escape character are matched literally.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

const (
	updateDisabled = `UPDATE users
	SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END, updated_at = now()
	WHERE email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND id = $1`

	updateAdmin = `UPDATE users SET is_admin = $2, updated_at = now()
	WHERE email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND id = $1`

	// The row is locked by the CTE, so was_admin is the role this update
	// replaced, not one a concurrent update has since changed.
	updateAdminByEmail = `WITH old AS (
		SELECT id, is_admin FROM users WHERE email = $1 FOR UPDATE
	)
	UPDATE users u SET is_admin = $2, updated_at = now()
	FROM old WHERE u.email = $1
	RETURNING old.id, old.is_admin AS was_admin`
)

// SetDisabled disables (keeping the first disabled_at) or enables the user
// with the id, on the primary, with the audit entry of the change by by,
// in one transaction, or returns user.ErrNotFound.
func (r *Users) SetDisabled(ctx context.Context, id string, disabled bool, by audit.Actor) error {
	action := audit.ActionUserEnabled
	if disabled {
		action = audit.ActionUserDisabled
	}
	return r.updateByID(ctx, "set disabled", updateDisabled, id, disabled, audit.Entry{Actor: by, Action: action, TargetID: id})
}

// SetAdmin grants or revokes the administrator role of the user with the
// id, on the primary, with the audit entry of the change by by, in one
// transaction, or returns user.ErrNotFound.
func (r *Users) SetAdmin(ctx context.Context, id string, admin bool, by audit.Actor) error {
	action := audit.ActionRoleRevoked
	if admin {
		action = audit.ActionRoleGranted
	}
	return r.updateByID(ctx, "set admin", updateAdmin, id, admin, audit.Entry{Actor: by, Action: action, TargetID: id})
}

func (r *Users) updateByID(ctx context.Context, what, query, id string, v bool, e audit.Entry) error {
	if !isUUID(id) {
		return user.ErrNotFound
	}
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		res, err := tx.ExecContext(ctx, query, id, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if n == 0 {
			return nil, user.ErrNotFound
		}
		return r.insertAudit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	r.publish(recs)
	return nil
}

// SetAdminByEmail grants or revokes the administrator role of the user
// with the normalized e-mail, for the `sso admin` commands, with the audit
// entry of the change (actor kind system) when the role changed, in one
// transaction. It returns the user's id and whether the role was already
// what was asked, or user.ErrNotFound.
func (r *Users) SetAdminByEmail(ctx context.Context, email string, admin bool) (id string, unchanged bool, err error) {
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		var row struct {
			ID  string `db:"id"`
			Was bool   `db:"was_admin"`
		}
		if err := tx.GetContext(ctx, &row, updateAdminByEmail, email, admin); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, user.ErrNotFound
			}
			return nil, fmt.Errorf("set admin: %w", err)
		}
		id, unchanged = row.ID, row.Was == admin
		if unchanged {
			return nil, nil
		}
		action := audit.ActionRoleRevoked
		if admin {
			action = audit.ActionRoleGranted
		}
		return r.insertAudit(ctx, tx, audit.Entry{Actor: audit.System(), Action: action, TargetID: row.ID})
	})
	if err != nil {
		return "", false, err
	}
	r.publish(recs)
	return id, unchanged, nil
}
