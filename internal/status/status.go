// Package status holds statusd's shared vocabulary: check levels, service
// statuses and check results. It imports nothing of statusd's own, so every
// other package can depend on it.
package status

import (
	"fmt"
	"strings"
)

// Level is the health level of a check. Higher is worse.
type Level int8

// Check levels, as django_status defined them.
const (
	Fine    Level = 0
	Warning Level = 1
	Problem Level = 2
)

var levelNames = [...]string{Fine: "fine", Warning: "warning", Problem: "problem"}

// String returns the lower-case name of the level.
func (l Level) String() string {
	if l >= Fine && l <= Problem {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", int8(l))
}

// MarshalText encodes the level as its name.
func (l Level) MarshalText() ([]byte, error) {
	if l < Fine || l > Problem {
		return nil, fmt.Errorf("invalid level %d", int8(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLevel parses "fine", "warning" or "problem" (case-insensitive).
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	return Fine, fmt.Errorf("unknown level %q (want fine, warning or problem)", s)
}

// Worst returns the worse of two levels.
func Worst(a, b Level) Level {
	return max(a, b)
}

// ServiceStatus is the status of a service on the status page. Higher is worse.
type ServiceStatus int8

// Service statuses, as django-statusboard and Statuspage define them.
const (
	Operational   ServiceStatus = 0
	Degraded      ServiceStatus = 1
	PartialOutage ServiceStatus = 2
	MajorOutage   ServiceStatus = 3
)

var serviceStatusNames = [...]string{
	Operational:   "operational",
	Degraded:      "degraded",
	PartialOutage: "partial_outage",
	MajorOutage:   "major_outage",
}

// String returns the snake_case name of the status.
func (s ServiceStatus) String() string {
	if s >= Operational && s <= MajorOutage {
		return serviceStatusNames[s]
	}
	return fmt.Sprintf("status(%d)", int8(s))
}

// MarshalText encodes the status as its name.
func (s ServiceStatus) MarshalText() ([]byte, error) {
	if s < Operational || s > MajorOutage {
		return nil, fmt.Errorf("invalid service status %d", int8(s))
	}
	return []byte(serviceStatusNames[s]), nil
}

// UnmarshalText decodes a status name.
func (s *ServiceStatus) UnmarshalText(b []byte) error {
	v, err := ParseServiceStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseServiceStatus parses a service status name.
func ParseServiceStatus(s string) (ServiceStatus, error) {
	for i, n := range serviceStatusNames {
		if strings.EqualFold(s, n) {
			return ServiceStatus(i), nil
		}
	}
	return Operational, fmt.Errorf("unknown service status %q (want one of %s)", s, strings.Join(serviceStatusNames[:], ", "))
}

var summaries = [...]string{
	Operational:   "All systems are operational",
	Degraded:      "Some systems are experiencing performance issues",
	PartialOutage: "Some systems are experiencing partial outages",
	MajorOutage:   "Some systems are experiencing major outages",
}

// Summary is the status page's banner text for a worst status, as
// django-statusboard words it.
func (s ServiceStatus) Summary() string {
	if s >= Operational && s <= MajorOutage {
		return summaries[s]
	}
	return ""
}

var labels = [...]string{
	Operational:   "Operational",
	Degraded:      "Degraded performance",
	PartialOutage: "Partial outage",
	MajorOutage:   "Major outage",
}

// Label is the status as people read it.
func (s ServiceStatus) Label() string {
	if s >= Operational && s <= MajorOutage {
		return labels[s]
	}
	return s.String()
}
