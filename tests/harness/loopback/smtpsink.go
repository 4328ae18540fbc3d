//go:build integration

package loopback

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPSink is an SMTP relay on 127.0.0.1 that keeps what it receives: the envelope,
// the message, whether the session ran over TLS and what AUTH carried. It offers
// STARTTLS (or serves TLS from the first byte), and AUTH PLAIN and LOGIN only over
// TLS, with one user and password, as a submission server does.
type SMTPSink struct {
	Port int
	// CAFile is the PEM of the CA that signed the sink's certificate (for
	// 127.0.0.1), for the client's trust store.
	CAFile string

	user, password string
	server         *smtp.Server

	mu       sync.Mutex
	messages []SMTPMessage
	auths    []SMTPAuth
}

// SMTPMessage is one message the sink accepted.
type SMTPMessage struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	// User is the login of the session, "" without AUTH.
	User string
}

// SMTPAuth is one AUTH attempt: the mechanism, the credentials and whether they
// were the sink's.
type SMTPAuth struct {
	Mechanism, User, Password string
	TLS, OK                   bool
}

// StartSMTPSink starts a sink that accepts user with password; implicitTLS serves
// TLS from the first byte instead of offering STARTTLS.
func StartSMTPSink(t T, dir, user, password string, implicitTLS bool) *SMTPSink {
	t.Helper()
	cert, caPEM, err := testCertificate()
	if err != nil {
		t.Fatalf("smtp sink: certificate: %v", err)
	}
	s := &SMTPSink{CAFile: filepath.Join(dir, "smtp-ca.pem"), user: user, password: password}
	if err := os.WriteFile(s.CAFile, caPEM, 0o644); err != nil {
		t.Fatalf("smtp sink: %v", err)
	}
	s.server = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s, conn: c}, nil
	}))
	s.server.Domain = "sink.test"
	s.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.server.ReadTimeout, s.server.WriteTimeout = 30*time.Second, 30*time.Second
	var l net.Listener
	if implicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.server.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtp sink: listen: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = s.server.Serve(l) }()
	t.Cleanup(func() { _ = s.server.Close() })
	return s
}

// Messages and Auths return what the sink has seen so far.
func (s *SMTPSink) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.messages...)
}

func (s *SMTPSink) Auths() []SMTPAuth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPAuth(nil), s.auths...)
}

type sinkSession struct {
	sink *SMTPSink
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *sinkSession) tls() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, password string) error {
		ok := user == ss.sink.user && password == ss.sink.password
		ss.sink.mu.Lock()
		ss.sink.auths = append(ss.sink.auths, SMTPAuth{Mechanism: mech, User: user, Password: password, TLS: ss.tls(), OK: ok})
		ss.sink.mu.Unlock()
		if !ok {
			return errors.New("invalid credentials")
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, password string) error { return check(user, password) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, fmt.Errorf("unsupported mechanism %s", mech)
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.user != "" && ss.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	ss.sink.messages = append(ss.sink.messages, SMTPMessage{From: ss.from, To: ss.to, Data: b, TLS: ss.tls(), User: ss.user})
	ss.sink.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// loginServer is SASL LOGIN (draft-murchison-sasl-login): the server asks for
// "Username:" and then "Password:", each answer one response.
type loginServer struct {
	check    func(user, password string) error
	user     string
	gotUser  bool
	finished bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.finished:
		return nil, true, errors.New("sasl login: unexpected response")
	case !l.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.gotUser:
		l.user, l.gotUser = string(response), true
		return []byte("Password:"), false, nil
	}
	l.finished = true
	return nil, true, l.check(l.user, string(response))
}

// testCertificate makes a CA and a server certificate for 127.0.0.1 signed by it.
func testCertificate() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loopback test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
