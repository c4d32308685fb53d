// Package deploy holds the configs of the docker-compose stack
// (../docker-compose.yml); this test checks them with the real tools, as
// far as a machine without a Docker engine can.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/statusd/statusd/internal/testsvc"
)

type compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Build   any      `yaml:"build"`
		Volumes []string `yaml:"volumes"`
		Ports   []string `yaml:"ports"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// Every service is there, every file it mounts exists, images are pinned.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"statusd", "postgres", "prometheus", "alertmanager", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %s", want)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil && (s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":")) {
			t.Errorf("%s: image %q is not pinned", name, s.Image)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("%s mounts %s, which does not exist: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts the volume %s, which is not declared", name, src)
			}
		}
	}
	if _, err := os.Stat("../Dockerfile"); err != nil {
		t.Error(err)
	}
}

// docker-compose itself reads the file as valid.
func TestDockerComposeConfig(t *testing.T) {
	bin := testsvc.Binary(t, "docker-compose", "docker-compose")
	cmd := exec.Command(bin, "-f", "docker-compose.yml", "config", "-q")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker-compose config: %v\n%s", err, out)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for what, re := range map[string]string{
		"two stages":               `(?m)^FROM .* AS build$[\s\S]*^FROM `,
		"a static binary":          `CGO_ENABLED=0`,
		"a non-root user":          `(?m)^USER [a-z0-9]+$`,
		"a health check":           `(?m)^HEALTHCHECK .*\n?.*/-/healthy`,
		"the port":                 `(?m)^EXPOSE 9799$`,
		"the binary as entrypoint": `(?m)^ENTRYPOINT \["/usr/local/bin/statusd"\]$`,
	} {
		if !regexp.MustCompile(re).MatchString(d) {
			t.Errorf("the Dockerfile lacks %s (%s)", what, re)
		}
	}
	if regexp.MustCompile(`(?m)^USER root$`).MatchString(d) {
		t.Error("runs as root")
	}
}

// The stack's configs pass their own tools' checks.
func TestStackConfigs(t *testing.T) {
	checkPrometheusConfig(t, "prometheus/prometheus.yml")
	amtool := testsvc.Binary(t, "amtool", "prometheus-alertmanager")
	if out, err := exec.Command(amtool, "check-config", "alertmanager/alertmanager.yml").CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
	// statusd/statusd.yml is checked by statusd config check in
	// cmd/statusd's TestShippedConfigs.
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The replicas example, over the full stack, as docker-compose merges it:
// three statusd on the one PostgreSQL, each with its own member id and
// address, in two locations, all three scraped by Prometheus.
func TestReplicasCompose(t *testing.T) {
	bin := testsvc.Binary(t, "docker-compose", "docker-compose")
	cmd := exec.Command(bin, "-f", "docker-compose.yml", "-f", "docker-compose.replicas.yml", "config")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	flag := func(args []string, name string) string {
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
				return v
			}
		}
		return ""
	}
	ids, addrs, locations, dsns := map[string]bool{}, map[string]bool{}, map[string]int{}, map[string]bool{}
	for _, name := range []string{"statusd", "statusd-2", "statusd-3"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if s.Image != "statusd:latest" || len(s.Volumes) == 0 {
			t.Errorf("%s: image %q, volumes %v", name, s.Image, s.Volumes)
		}
		ids[flag(s.Command, "cluster.member-id")] = true
		addrs[flag(s.Command, "cluster.advertise-address")] = true
		locations[flag(s.Command, "cluster.location")]++
		dsns[s.Environment["STATUSD_STORAGE_DSN"]] = true
	}
	delete(ids, "")
	delete(addrs, "")
	if len(ids) != 3 || len(addrs) != 3 {
		t.Errorf("member ids %v and addresses %v: want three of each", ids, addrs)
	}
	if len(dsns) != 1 {
		t.Errorf("the replicas use %d databases, want one: %v", len(dsns), dsns)
	} else {
		for dsn := range dsns {
			if !strings.HasPrefix(dsn, "postgres://") {
				t.Errorf("the replicas share %q, not PostgreSQL", dsn)
			}
		}
	}
	if locations["eu-west"] != 2 || locations["us-east"] != 1 {
		t.Errorf("locations %v, want two in eu-west and one in us-east", locations)
	}
	// Prometheus scrapes the three, with the stack's rules.
	var promConfig string
	for _, v := range c.Services["prometheus"].Volumes {
		if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/prometheus/prometheus.yml") {
			promConfig = src
		}
	}
	if !strings.HasSuffix(promConfig, "deploy/replicas/prometheus.yml") {
		t.Fatalf("prometheus reads %q, want deploy/replicas/prometheus.yml", promConfig)
	}
	b, err := os.ReadFile("replicas/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	for addr := range addrs {
		if !strings.Contains(string(b), addr) {
			t.Errorf("Prometheus does not scrape %s", addr)
		}
	}
	checkPrometheusConfig(t, "replicas/prometheus.yml")
}

// checkPrometheusConfig runs promtool on a Prometheus config of the stack,
// with statusd's rules where the stack mounts them.
func checkPrometheusConfig(t *testing.T, config string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, config, filepath.Join(dir, "prometheus.yml"))
	copyFile(t, "../alerts/statusd.rules.yml", filepath.Join(dir, "rules", "statusd.rules.yml"))
	promtool := testsvc.Binary(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 20 rules found") {
		t.Errorf("promtool check config %s: %v\n%s", config, err, out)
	}
}
