package service

import (
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/twistgo/twist/deferred"
)

var (
	// ErrHasParent is returned by SetName for a service that has a parent
	// (its name is a key in the parent), and by AddService for a service that
	// belongs to another collection.
	ErrHasParent = errors.New("service: service has a parent")
	// ErrNoParent is returned by DisownServiceParent for a service without a
	// parent.
	ErrNoParent = errors.New("service: service has no parent")
	// ErrDuplicateName is returned when a collection already has a child with
	// the name of the service being added.
	ErrDuplicateName = errors.New("service: two services with the same name")
	// ErrNotChild is returned by RemoveService for a service that is not a
	// child of the collection.
	ErrNotChild = errors.New("service: not a child of this collection")
)

// A Service is something that starts and stops (Twisted's IService).
//
// Implementations embed Base, which provides the bookkeeping (name, parent,
// running state), and override StartService and StopService.
type Service interface {
	// Name returns the service's name; "" means it has none.
	Name() string
	// Running reports whether the service has been started and not stopped.
	Running() bool
	// Parent returns the collection the service belongs to, or nil.
	Parent() Collection
	// StartService starts the service. A service that cannot start (a port
	// that cannot be bound) returns an error.
	StartService() error
	// StopService stops the service. It returns a Deferred that fires when
	// the service has stopped, or nil if it stopped at once.
	StopService() *deferred.Deferred

	// base gives the package the service's bookkeeping; it also makes
	// embedding Base the way to implement Service.
	base() *Base
}

// A Collection is a service that holds others (Twisted's
// IServiceCollection). MultiService and Application implement it.
type Collection interface {
	Service
	// AddService adds s as the last child, and starts it if the collection
	// is running.
	AddService(s Service) error
	// RemoveService removes s, and stops it if the collection is running.
	RemoveService(s Service) (*deferred.Deferred, error)
	// GetServiceNamed returns the child with the given name.
	GetServiceNamed(name string) (Service, bool)
	// Services returns the children in the order they were added.
	Services() iter.Seq[Service]
}

// Base is the embeddable core of a Service (Twisted's Service): it keeps the
// name, the parent and the running state. A service that overrides
// StartService or StopService calls Base's from its own.
type Base struct {
	name    string
	parent  Collection
	running bool
}

func (b *Base) base() *Base { return b }

// Name returns the service's name.
func (b *Base) Name() string { return b.name }

// SetName sets the service's name. It returns ErrHasParent if the service
// has a parent, which knows it by its old name.
func (b *Base) SetName(name string) error {
	if b.parent != nil {
		return fmt.Errorf("%w: cannot change the name of %q", ErrHasParent, b.name)
	}
	b.name = name
	return nil
}

// Running reports whether the service is running.
func (b *Base) Running() bool { return b.running }

// Parent returns the collection the service belongs to, or nil.
func (b *Base) Parent() Collection { return b.parent }

// StartService marks the service running.
func (b *Base) StartService() error {
	b.running = true
	return nil
}

// StopService marks the service stopped and returns nil: it has stopped.
func (b *Base) StopService() *deferred.Deferred {
	b.running = false
	return nil
}

// SetServiceParent makes s a child of parent, taking it from its current
// parent first if it has one, as Twisted does. It fails if parent has a child
// with s's name; s is then left without a parent.
func SetServiceParent(s Service, parent Collection) error {
	if s.Parent() != nil {
		if _, err := DisownServiceParent(s); err != nil {
			return err
		}
	}
	return parent.AddService(s)
}

// DisownServiceParent removes s from its parent and returns what the parent's
// RemoveService returned: a Deferred that fires once s has stopped.
func DisownServiceParent(s Service) (*deferred.Deferred, error) {
	p := s.Parent()
	if p == nil {
		return nil, ErrNoParent
	}
	return p.RemoveService(s)
}

// stopped returns s.StopService() as a Deferred, a fired one if it returned
// nil, and a failed one if it panicked (Twisted's maybeDeferred(stopService)).
func stopped(s Service) *deferred.Deferred {
	return deferred.Maybe(func() (any, error) {
		if d := s.StopService(); d != nil {
			return d, nil
		}
		return nil, nil
	})
}

// MultiService is a service that holds others and starts and stops them with
// itself (Twisted's MultiService). Its zero value is not usable: make one
// with NewMultiService.
//
// No child waits for another: StartService starts them one after the other,
// and StopService stops them all, last added first, then waits for all of
// them.
type MultiService struct {
	Base
	// self is the collection its children see as their parent: the
	// MultiService itself, or the Application that embeds it.
	self     Collection
	services []Service
	named    map[string]Service
}

// NewMultiService returns an empty MultiService.
func NewMultiService() *MultiService {
	m := &MultiService{named: make(map[string]Service)}
	m.self = m
	return m
}

// StartService marks m running and starts its children in order. It stops
// at the first child that fails to start and returns its error; the children
// started before it keep running, and StopService stops them.
func (m *MultiService) StartService() error {
	m.Base.StartService()
	for _, s := range slices.Clone(m.services) {
		if err := s.StartService(); err != nil {
			// A child's error says what failed (a port names its
			// address); only a name adds to it.
			if s.Name() != "" {
				return fmt.Errorf("service: starting %s: %w", describe(s), err)
			}
			return err
		}
	}
	return nil
}

// StopService marks m stopped and stops its running children, last added
// first. The returned Deferred fires with a []deferred.Outcome (a
// deferred.List, which never fails) once every child has stopped.
func (m *MultiService) StopService() *deferred.Deferred {
	m.Base.StopService()
	ds := make([]*deferred.Deferred, 0, len(m.services))
	for _, s := range slices.Backward(slices.Clone(m.services)) {
		ds = append(ds, stopped(s))
	}
	return deferred.List(ds)
}

// AddService adds s as m's last child and makes m its parent. If m is
// running, s is started; an error starting it is returned, and s stays a
// child (stopping m stops it). It returns ErrHasParent if s has a parent and
// ErrDuplicateName if m has a child with s's name.
func (m *MultiService) AddService(s Service) error {
	b := s.base()
	if b.parent != nil {
		return fmt.Errorf("%w: %s", ErrHasParent, describe(s))
	}
	if name := s.Name(); name != "" {
		if _, dup := m.named[name]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicateName, name)
		}
		m.named[name] = s
	}
	m.services = append(m.services, s)
	b.parent = m.self
	if m.running {
		return s.StartService()
	}
	return nil
}

// RemoveService removes s from m's children and clears its parent. If m is
// running it stops s and returns the Deferred of its stopping; otherwise the
// Deferred has fired. It returns ErrNotChild if s is not a child of m.
func (m *MultiService) RemoveService(s Service) (*deferred.Deferred, error) {
	i := slices.Index(m.services, s)
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotChild, describe(s))
	}
	m.services = slices.Delete(m.services, i, i+1)
	if name := s.Name(); name != "" {
		delete(m.named, name)
	}
	s.base().parent = nil
	if m.running {
		return stopped(s), nil
	}
	return deferred.Succeed(nil), nil
}

// GetServiceNamed returns the child named name.
func (m *MultiService) GetServiceNamed(name string) (Service, bool) {
	s, ok := m.named[name]
	return s, ok
}

// Services returns m's children in the order they were added. Adding or
// removing children during the iteration does not change what it yields.
func (m *MultiService) Services() iter.Seq[Service] {
	return slices.Values(slices.Clone(m.services))
}

// Len returns the number of m's children.
func (m *MultiService) Len() int { return len(m.services) }

// Application is the root of a service tree (Twisted's Application): a
// named MultiService with the process options twistd applies.
type Application struct {
	MultiService
	// UID and GID are the user and group ids the process switches to once
	// the services have started (so that they can bind privileged ports
	// first); -1 leaves them alone (Twisted's IProcess).
	UID, GID int
}

// NewApplication returns an empty Application with the given name and no
// uid or gid to switch to.
func NewApplication(name string) *Application {
	a := &Application{UID: -1, GID: -1}
	a.named = make(map[string]Service)
	a.name = name
	a.self = a
	return a
}

// describe names s in errors: by its name, or by its type.
func describe(s Service) string {
	if n := s.Name(); n != "" {
		return fmt.Sprintf("service %q", n)
	}
	return fmt.Sprintf("service %T", s)
}
