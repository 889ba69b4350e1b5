package main

// The _id index FerretDB v1.24's SQLite backend cannot use, and the one it can.
//
// FerretDB creates each collection's _id index on `_ferretdb_sjson->"_id"` but filters
// with `_ferretdb_sjson->'$._id' = ?`; SQLite does not treat the two expressions as the
// same, so every find, update, replace and delete by _id scans the whole table (227 ms
// per update at 20 000 documents, see docs/benchmarks.md). An index on the expression
// FerretDB filters with makes them all flat (~1.3 ms at any size).
//
// FerretDB cannot create that index itself (its createIndexes writes the unusable
// expression), so this process adds it in the backend directly: right after start and
// then every interval it looks at each `<db>.sqlite` in the data directory, reads the
// collection tables from `_ferretdb_collections` and creates `"<table>_id_path"` on
// `(_ferretdb_sjson->'$._id')` where it is missing (no ANALYZE: see createIDIndex).
// Collections created later get it within a quarter of the interval (see run).
// FerretDB never sees the index in its metadata (listIndexes does not show it) and
// drops it with the table. A user index named "id_path" would collide with it.
//
// Coexistence with FerretDB's own connections (WAL mode): a short-lived connection per
// file, with the busy timeout FerretDB uses (10 s), opened read-write without create
// and only while the file has its WAL (see stamp), closed right after. Files whose
// database and WAL sizes and times have not changed since the last look are skipped,
// so an idle database costs two stats per interval. Residual risk: a drop racing with
// such a connection (open for about a millisecond) can leave the database's WAL and
// shared-memory files behind, which a database created again under the same name at
// once would find. The project's databases are never dropped and re-created so.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite" (the one FerretDB uses)
)

// idIndexSuffix names the index: "<table>_id_path".
const idIndexSuffix = "_id_path"

type fileStamp struct {
	dbSize, walSize int64
	dbMod, walMod   time.Time
}

type idIndexer struct {
	dir     string
	seen    map[string]fileStamp // last stamp of each file fully handled
	changed map[string]time.Time // when each file was last seen changed
	lastErr map[string]string    // last error logged per file (logged once until it changes)
}

func newIDIndexer(dir string) *idIndexer {
	return &idIndexer{dir: dir, seen: map[string]fileStamp{}, changed: map[string]time.Time{}, lastErr: map[string]string{}}
}

// run passes over the data directory now and then until ctx is done: over every file
// each `every`, and every `every`/4 over new files and files that changed in the last
// 10 × `every` (collections are created in databases being written, or in new ones).
// A new collection so goes without the index for a quarter of `every` at most; the
// cost: a stat of each database file and its WAL per `every`, and a connection (about
// 0.4 ms) per `every`/4 for each database being written.
func (x *idIndexer) run(ctx context.Context, every time.Duration) {
	fast := max(every/4, 10*time.Millisecond)
	t := time.NewTicker(fast)
	defer t.Stop()
	var lastFull time.Time
	for {
		full := time.Since(lastFull) >= every
		if full {
			lastFull = time.Now()
		}
		x.pass(ctx, full, 10*every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass handles the database files that changed since they were last handled: all of
// them if full, else new ones and those changed within hot.
func (x *idIndexer) pass(ctx context.Context, full bool, hot time.Duration) {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		log.Printf("id index: %v", err)
		return
	}
	now := time.Now()
	present := make(map[string]bool, len(files))
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		present[f] = true
		last, known := x.changed[f]
		if !full && known && (now.Sub(last) > hot || x.lastErr[f] != "") {
			continue // failures are retried once per full pass
		}
		st, ok := stamp(f)
		if !ok || (known && x.seen[f] == st) {
			continue
		}
		x.changed[f] = now
		if err := x.ensure(ctx, f); err != nil {
			if msg := err.Error(); x.lastErr[f] != msg {
				x.lastErr[f] = msg
				log.Printf("id index: %s: %v (retrying)", filepath.Base(f), err)
			}
			delete(x.seen, f) // not recorded: tried again next pass
			continue
		}
		delete(x.lastErr, f)
		x.seen[f] = st // the stamp from before: a change during ensure is looked at again
	}
	if full {
		for f := range x.changed {
			if !present[f] {
				delete(x.seen, f)
				delete(x.changed, f)
				delete(x.lastErr, f)
			}
		}
	}
}

// stamp is false for a file that is gone or has no WAL: FerretDB keeps the WAL while it
// has the database open, and deletes it when dropping the database just before the
// file itself; opening the file then would create a WAL and shared-memory file that
// nothing removes.
func stamp(f string) (fileStamp, bool) {
	db, err := os.Stat(f)
	if err != nil {
		return fileStamp{}, false
	}
	wal, err := os.Stat(f + "-wal")
	if err != nil {
		return fileStamp{}, false
	}
	return fileStamp{dbSize: db.Size(), dbMod: db.ModTime(), walSize: wal.Size(), walMod: wal.ModTime()}, true
}

// ensure creates the missing _id indexes of one database file.
func (x *idIndexer) ensure(ctx context.Context, file string) error {
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() + "?mode=rw&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)`, idIndexSuffix)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // no collection yet: creating one changes the file
		}
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}

	for _, t := range tables {
		start := time.Now()
		if err := createIDIndex(ctx, db, t); err != nil {
			if strings.Contains(err.Error(), "no such table: "+t) {
				continue // dropped meanwhile, or its metadata row was written first
			}
			return fmt.Errorf("%s: %w", t, err)
		}
		log.Printf("id index: created %s on %s (%s) in %s", ident(t+idIndexSuffix), strings.TrimSuffix(filepath.Base(file), ".sqlite"), t, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// createIDIndex creates the index on one table. No ANALYZE: collections are created
// lazily, so statistics taken now would describe an empty or one-row table, and with
// them SQLite keeps scanning once the table has grown (measured: 18 ms per findOne at
// 20 000 documents instead of 0.7 ms). Without statistics for the table SQLite assumes
// a large one and uses the index for `_ferretdb_sjson->'$._id' = ?`; statistics left
// by someone's ANALYZE are removed with the index creation for the same reason.
func createIDIndex(ctx context.Context, db *sql.DB, table string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, ident(table+idIndexSuffix), ident(table))
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return err
	}
	var stats int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'`).Scan(&stats); err != nil {
		return err
	}
	if stats > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_stat1 WHERE tbl = ?`, table); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ident quotes an SQLite identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
