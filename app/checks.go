package app

import (
	"os"

	toolkit "github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/web/page"
)

// checkInfos lists every check for the checks dashboard.
func (a *App) checkInfos() []page.CheckInfo {
	var out []page.CheckInfo
	for _, res := range a.exporter.Resources() {
		for _, c := range res.Checks {
			info := page.CheckInfo{ID: c.ID, Kind: c.Kind, Description: c.Description}
			if r, ok := c.Latest(); ok {
				info.Result = &r
			}
			level, evaluated, receivers := a.evaluator.Monitor(c.ID)
			if evaluated {
				info.Evaluated = &level
			}
			info.Receivers = receivers
			out = append(out, info)
		}
	}
	return out
}

// responseTimed tells whether a configured check times responses.
func (a *App) responseTimed(id status.CheckID) bool {
	c, ok := a.exporter.Check(id)
	return ok && c.ResponseTimed()
}

// webConfigAuthenticates tells whether a web config file (exporter-toolkit
// format) makes every request authenticate, with basic auth users or
// client certificates it requires.
func webConfigAuthenticates(file string) bool {
	if file == "" {
		return false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var wc toolkit.Config
	if yaml.Unmarshal(b, &wc) != nil {
		return false
	}
	return len(wc.Users) > 0 || wc.TLSConfig.ClientAuth == "RequireAndVerifyClientCert"
}
