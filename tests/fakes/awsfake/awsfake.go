// Package awsfake is an AWS API endpoint in the test process: an HTTP server that
// speaks the four wire protocols the AWS SDK for Go v2 clients moodlectl uses
// send: JSON 1.1 with X-Amz-Target (ECS, CloudWatch Logs), the query protocol
// with XML answers (RDS), Smithy RPC v2 CBOR (CloudWatch) and REST-JSON
// (restJson1: AWS Backup, EFS), where the method and path name the operation. Tests
// register an answer per operation and point real SDK clients at URL.
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/encoding/cbor"
)

// Server is the fake endpoint.
type Server struct {
	srv   *httptest.Server
	mu    sync.Mutex
	json  map[string]func(map[string]any) (any, error)
	query map[string]func(url.Values) (string, error)
	cbor  map[string]func(cbor.Map) (cbor.Value, error)
	rest  []restRoute
}

// restRoute is one REST-JSON operation: its method and path template.
type restRoute struct {
	method string
	path   []string // segments; "{Name}" binds one
	answer func(RESTRequest) (any, error)
}

// RESTRequest is a REST-JSON call: the path's bound labels (unescaped), the
// query string and the JSON body (nil when there is none).
type RESTRequest struct {
	Labels map[string]string
	Query  url.Values
	Body   map[string]any
}

// Start serves until Close.
func Start() *Server {
	s := &Server{
		json:  map[string]func(map[string]any) (any, error){},
		query: map[string]func(url.Values) (string, error){},
		cbor:  map[string]func(cbor.Map) (cbor.Value, error){},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give the SDK clients (BaseEndpoint).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Config is an SDK configuration with static credentials aimed at the fake.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
		BaseEndpoint: aws.String(s.URL()),
	}
}

// JSON answers the JSON 1.1 operation target ("AmazonEC2ContainerServiceV20141113.DescribeServices").
func (s *Server) JSON(target string, answer func(req map[string]any) (any, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.json[target] = answer
}

// Query answers the query-protocol action ("DescribeDBInstances") with XML.
func (s *Server) Query(action string, answer func(form url.Values) (string, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.query[action] = answer
}

// CBOR answers the RPC v2 CBOR operation ("GetMetricData").
func (s *Server) CBOR(operation string, answer func(req cbor.Map) (cbor.Value, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cbor[operation] = answer
}

// REST answers the REST-JSON operation at method and path, a template as the
// service's Smithy model gives its @http trait ("/backup-jobs/{BackupJobId}").
// The answer is encoded as the JSON body of a 200 response; an error becomes a
// 400 with the restJson1 error shape (an "__type" and a "message").
func (s *Server) REST(method, path string, answer func(RESTRequest) (any, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rest = append(s.rest, restRoute{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), answer: answer})
}

// route finds the REST operation of a request, binding the path's labels.
func (s *Server) route(r *http.Request) (restRoute, map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for _, rt := range s.rest {
		if rt.method != r.Method || len(rt.path) != len(got) {
			continue
		}
		labels := map[string]string{}
		ok := true
		for i, seg := range rt.path {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				v, err := url.PathUnescape(got[i])
				if err != nil {
					ok = false
					break
				}
				labels[strings.Trim(seg, "{}")] = v
				continue
			}
			if seg != got[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt, labels, true
		}
	}
	return restRoute{}, nil, false
}

// lookup returns the answer registered for op.
func lookup[T any](s *Server, answers map[string]T, op string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	answer, ok := answers[op]
	return answer, ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rt, labels, ok := s.route(r); ok {
		s.serveREST(w, rt, RESTRequest{Labels: labels, Query: r.URL.Query()}, body)
		return
	}
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		s.serveJSON(w, r.Header.Get("X-Amz-Target"), body)
	case r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor":
		s.serveCBOR(w, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], body)
	default:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.serveQuery(w, form)
	}
}

func (s *Server) serveJSON(w http.ResponseWriter, target string, body []byte) {
	answer, ok := lookup(s, s.json, target)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var req map[string]any
	if !ok || json.Unmarshal(body, &req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"the fake has no answer for %s"}`, target)
		return
	}
	out, err := answer(req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"ClientException","message":%q}`, err.Error())
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) serveQuery(w http.ResponseWriter, form url.Values) {
	action := form.Get("Action")
	answer, ok := lookup(s, s.query, action)
	w.Header().Set("Content-Type", "text/xml")
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>the fake has no answer for %s</Message></Error></ErrorResponse>`, action)
		return
	}
	out, err := answer(form)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>%s</Message></Error></ErrorResponse>`, err)
		return
	}
	fmt.Fprint(w, out)
}

func (s *Server) serveCBOR(w http.ResponseWriter, op string, body []byte) {
	answer, ok := lookup(s, s.cbor, op)
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(typ), "message": cbor.String(msg)}))
	}
	if !ok {
		fail("UnknownOperationException", "the fake has no answer for "+op)
		return
	}
	req, err := cbor.Decode(body)
	m, isMap := req.(cbor.Map)
	if err != nil || !isMap {
		fail("SerializationException", fmt.Sprintf("not a CBOR map: %v", err))
		return
	}
	out, err := answer(m)
	if err != nil {
		fail("InvalidParameterValue", err.Error())
		return
	}
	_, _ = w.Write(cbor.Encode(out))
}

// serveREST answers one REST-JSON call. restJson1 names an error by the
// X-Amzn-ErrorType header or the body's "__type" (Smithy's restJson1 protocol,
// "Operation error serialization"); both are set.
func (s *Server) serveREST(w http.ResponseWriter, rt restRoute, req RESTRequest, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	fail := func(typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req.Body); err != nil {
			fail("SerializationException", "not a JSON object: "+err.Error())
			return
		}
	}
	out, err := rt.answer(req)
	if err != nil {
		fail("InvalidParameterValueException", err.Error())
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}
