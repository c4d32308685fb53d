package web

import (
	"net/http"

	"github.com/statusd/statusd/internal/cluster"
)

// Cluster is the membership served at /api/v1/cluster.
type Cluster interface {
	View() cluster.View
}

// cluster answers who is in the cluster and how many checks each runs.
// Members' addresses are the operator's business: a read token is needed.
func (h *handler) cluster(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.opts.Cluster.View())
}
