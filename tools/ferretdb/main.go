// Command ferretdb runs FerretDB v1 (MongoDB wire protocol) on an embedded
// SQLite backend. It wraps the embeddable package instead of building
// FerretDB's own cmd/ferretdb, whose binary panics at start-up when built
// from the module zip (missing generated version.txt, FerretDB#2982).
//
// It also adds the _id index FerretDB's SQLite backend lacks (see idindex.go):
// without it every find, update, replace and delete by _id scans the collection.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	url := flag.String("sqlite-url", "file:data/", "SQLite directory URL (must end with /)")
	every := flag.Duration("id-index-interval", time.Second, "how often to add the _id index to new collection tables (0: never)")
	flag.Parse()

	dir := trimURL(*url)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatalf("cannot create data directory: %v", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Handler:   "sqlite",
		SQLiteURL: *url,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	idIndexDone := make(chan struct{})
	go func() {
		defer close(idIndexDone)
		if *every > 0 {
			newIDIndexer(dir).run(ctx, *every)
		}
	}()
	log.Printf("ferretdb listening on %s (sqlite %s)", *addr, *url)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	stop()
	<-idIndexDone
	log.Printf("ferretdb stopped")
}

func trimURL(u string) string {
	const p = "file:"
	if len(u) >= len(p) && u[:len(p)] == p {
		u = u[len(p):]
	}
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			return u[:i]
		}
	}
	return u
}
