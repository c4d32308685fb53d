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
	// Prometheus, with the rules where the stack mounts them.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "prometheus/prometheus.yml", filepath.Join(dir, "prometheus.yml"))
	copyFile(t, "../alerts/statusd.rules.yml", filepath.Join(dir, "rules", "statusd.rules.yml"))
	promtool := testsvc.Binary(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 20 rules found") {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
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
