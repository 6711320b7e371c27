// Package redact hides secrets in what reaches a log, an error message, an activity summary, a
// ledger detail or Temporal history: one redaction for URLs and one for free text (an error, a
// build's stderr tail), used everywhere such text leaves the worker.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces what is hidden (net/url's URL.Redacted uses the same).
const Mask = "xxxxx"

// minSecret is the shortest registered secret Text replaces: a shorter one would mask ordinary
// words (a one-letter password would erase every "a").
const minSecret = 4

// URL returns raw with its credentials hidden: the password of its userinfo (a userinfo without a
// password, often a token, is hidden whole) and the values of token-like query parameters
// (token, access_token, X-Amz-Signature, sig, password...). What does not parse as a URL is
// redacted as text.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return Text(maskUserinfo(raw))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		} else {
			u.User = url.User(Mask)
		}
	}
	u.RawQuery = query(u.RawQuery)
	return u.String()
}

// maskUserinfo hides the userinfo of a URL that does not parse (a space or a bad escape in
// its password): everything between "://" and the last "@" before any query or fragment
// (a password may hold a raw "/" too).
func maskUserinfo(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		user = ""
	} else {
		user += ":"
	}
	return scheme + "://" + user + Mask + rest[at:]
}

// query masks the values of token-like parameters, keeping the parameters' order.
func query(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, has := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if has && secretKey(name) {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

var (
	// keyWord matches the names of parameters and headers that carry a secret.
	keyWord = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|^pwd$|signature|credential|api[_-]?key|access[_-]?key|^sig$|(^|[_.-])key$|^auth$|authorization|session)`)
	// userinfo is a URL's scheme://user:password@ or scheme://token@ anywhere in a text.
	userinfo = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@"'<>]+)@`)
	// authHeader is an Authorization header (or a key named like one) with its scheme and value.
	authHeader = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)((?:basic|bearer|token|digest|negotiate)\s+)?[^\s"',;]+`)
	// bearer is a bearer credential in running text.
	bearer     = regexp.MustCompile(`(?i)\b(bearer\s+)([A-Za-z0-9._~+/-]+=*)`)
	authScheme = regexp.MustCompile(`(?i)^(basic|bearer|token|digest|negotiate)$`)
	// pair is key=value, key: value or "key":"value", the key's name saying it is a secret.
	pair = regexp.MustCompile(`([A-Za-z0-9_.-]+)(=|["']?:\s+["']?|["']:["']?)([^\s&"',;/][^\s&"',;]*)`)
)

// Text returns s with secrets hidden: the userinfo of every URL in it, Authorization and bearer
// credentials, the values of token-like key=value pairs (token=…, MLFLOW_TRACKING_PASSWORD=…,
// X-Amz-Signature=…), and each of the given secret values (those of at least 4 bytes) wherever
// they appear.
func Text(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= minSecret {
			s = strings.ReplaceAll(s, v, Mask)
			if esc := url.QueryEscape(v); esc != v {
				s = strings.ReplaceAll(s, esc, Mask)
			}
		}
	}
	s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		if user, _, has := strings.Cut(sub[2], ":"); has {
			return sub[1] + user + ":" + Mask + "@"
		}
		return sub[1] + Mask + "@"
	})
	s = authHeader.ReplaceAllString(s, "${1}${2}"+Mask)
	s = bearer.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearer.FindStringSubmatch(m)
		if sub[2] == Mask || isWord(sub[2]) {
			return m
		}
		return sub[1] + Mask
	})
	return pair.ReplaceAllStringFunc(s, func(m string) string {
		sub := pair.FindStringSubmatch(m)
		value := strings.TrimRight(sub[3], ":.)]}>")
		if !secretKey(sub[1]) || value == Mask || authScheme.MatchString(value) {
			return m
		}
		return sub[1] + sub[2] + Mask + sub[3][len(value):]
	})
}

func secretKey(name string) bool {
	// the key's last dotted or dashed part decides: X-Amz-Signature, MLFLOW_TRACKING_TOKEN, a.password
	return keyWord.MatchString(name) && !strings.EqualFold(name, "key_id") && !strings.EqualFold(name, "kid")
}

// isWord says whether v reads as a word of prose ("bearer token"), not a credential.
func isWord(v string) bool {
	for _, r := range v {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Error returns err with its message redacted as Text, or nil. The result does not unwrap: what it
// hides must not come back through errors.Unwrap (Temporal records every error of a chain in
// history). errors.Is still sees the original chain, so a context cancellation stays one.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redacted{msg: Text(err.Error(), secrets...), cause: err}
}

type redacted struct {
	msg   string
	cause error
}

func (e *redacted) Error() string { return e.msg }

// Is lets errors.Is match the original chain (context.Canceled, os.ErrNotExist) without exposing it.
func (e *redacted) Is(target error) bool { return errors.Is(e.cause, target) }
