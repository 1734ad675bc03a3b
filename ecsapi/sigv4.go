package ecsapi

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxClockSkew is how far a signed request's time may be from the
// handler's clock, either way: AWS's 15 minutes.
const MaxClockSkew = 15 * time.Minute

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	sigService   = "ecs"
	amzDate      = "20060102T150405Z"
)

func unrecognized(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "UnrecognizedClientException", message: msg}
}

func badSignature(msg string) *wireError {
	return &wireError{status: http.StatusForbidden, code: "InvalidSignatureException", message: msg}
}

// verify checks r's AWS Signature Version 4 against the secrets of creds,
// for service ecs, the region (any when empty) and the time now.
func verify(r *http.Request, body []byte, creds map[string]string, region string, now time.Time) *wireError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return unrecognized("The request is not signed: it has no Authorization header.")
	}
	rest, ok := strings.CutPrefix(auth, sigAlgorithm+" ")
	if !ok {
		return unrecognized("The request's signature is not " + sigAlgorithm + ".")
	}
	var credential, signedHeaders, signature string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || signedHeaders == "" || signature == "" {
		return unrecognized("The Authorization header is malformed.")
	}
	key, date, scopeRegion, service, terminal := scope[0], scope[1], scope[2], scope[3], scope[4]
	secret, known := creds[key]
	if !known {
		return unrecognized("The security token included in the request is invalid.")
	}
	if service != sigService || terminal != "aws4_request" || (region != "" && scopeRegion != region) {
		return badSignature("Credential should be scoped to a valid region and service ecs, not " + scopeRegion + "/" + service + ".")
	}
	stamp := r.Header.Get("X-Amz-Date")
	at, err := time.Parse(amzDate, stamp)
	if err != nil {
		return badSignature("The request has no valid X-Amz-Date.")
	}
	if d := now.Sub(at); d > MaxClockSkew || d < -MaxClockSkew {
		return badSignature("Signature expired: " + stamp + " is more than 15 minutes from the server's time " + now.UTC().Format(amzDate) + ".")
	}
	if len(date) != 8 || stamp[:8] != date {
		return badSignature("The credential's date " + date + " is not the request's.")
	}
	headers := strings.Split(signedHeaders, ";")
	if !slices.IsSorted(headers) || !slices.Contains(headers, "host") {
		return badSignature("SignedHeaders must be sorted and include host.")
	}
	payloadHash := sha256Hex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		// UNSIGNED-PAYLOAD too: every ECS request's body is signed.
		return badSignature("The payload's hash is not X-Amz-Content-Sha256.")
	}
	var canonical strings.Builder
	canonical.WriteString(r.Method + "\n" + canonicalURI(r.URL.EscapedPath()) + "\n" + canonicalQuery(r) + "\n")
	for _, h := range headers {
		canonical.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	canonical.WriteString("\n" + signedHeaders + "\n")
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		canonical.WriteString(h)
	} else {
		canonical.WriteString(payloadHash)
	}
	credentialScope := strings.Join(scope[1:], "/")
	toSign := sigAlgorithm + "\n" + stamp + "\n" + credentialScope + "\n" + sha256Hex([]byte(canonical.String()))
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, scopeRegion)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return badSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

func canonicalURI(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// canonicalQuery is the query string with names and values encoded,
// sorted by name, then value.
func canonicalQuery(r *http.Request) string {
	type pair struct{ name, value string }
	var pairs []pair
	for name, values := range r.URL.Query() {
		for _, v := range values {
			pairs = append(pairs, pair{awsEscape(name), awsEscape(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.value, b.value)) })
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.name + "=" + p.value
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes everything but unreserved characters, as SigV4
// does.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// headerValue is a signed header's canonical value: its values joined by
// commas, each trimmed and with inner runs of spaces folded.
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
