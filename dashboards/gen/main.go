// Command gen writes statusd's dashboards as JSON (go generate ./dashboards).
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/statusd/statusd/dashboards"
)

func main() {
	// go generate runs in the package's folder.
	for _, d := range dashboards.All() {
		b, err := dashboards.JSON(d.Builder)
		if err != nil {
			log.Fatalf("%s: %v", d.File, err)
		}
		if err := os.WriteFile(filepath.Join(".", d.File), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
