package governance

import (
	"fmt"
	"regexp"
	"strings"
)

// maxNamed bounds how many offending lines a finding names per requirements list.
const maxNamed = 5

// globalOptions are requirements-file options that install nothing themselves (where to find
// packages, how to pick them); their lines are skipped. Any other option line is refused.
var globalOptions = map[string]bool{
	"-i": true, "--index-url": true, "--extra-index-url": true, "--no-index": true,
	"-f": true, "--find-links": true, "--trusted-host": true, "--pre": true,
	"--prefer-binary": true, "--only-binary": true, "--no-binary": true, "--require-hashes": true,
}

var (
	pkgName      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`)
	pkgExtras    = regexp.MustCompile(`^\[\s*([A-Za-z0-9][A-Za-z0-9._-]*\s*(,\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*)*)?\]`)
	exactVersion = regexp.MustCompile(`^[vV]?[0-9][A-Za-z0-9.+!_-]*$`)
)

// CheckPinnedRequirements is R12: every requirement of the MLflow model (Evidence.Requirements)
// and of the bento (Evidence.BentoRequirements, unless Evidence.BentoPending) is pinned exactly,
// and neither list is empty.
//
// A requirement passes as name==version, with optional extras (name[extra]==1.2.3), spaces
// around ==, a local version (torch==2.3.1+cpu), an environment marker after ";", and --hash
// options. Comments, blank lines, "\" continuations and the global options in globalOptions
// (index and find-links settings, --require-hashes, ...) are allowed. Refused: other operators
// (>=, <=, ~=, !=, <, >, a single =), === (arbitrary equality is not the == pin), wildcards
// (==1.*), several clauses (==1.0,!=1.1), bare names, URLs, name @ URL, VCS (git+...), local
// paths and archives, -e, -r and -c (another file the deployer cannot see), unknown options.
// The seed's [DEV_UNPINNED_OK] exception is not honoured: what is deployed has no dev extras.
// The finding names the first maxNamed offending lines of each list and how many there are.
func CheckPinnedRequirements(e Evidence) Finding {
	in := map[string]any{}
	var probs, summary []string
	type list struct {
		key, label string
		lines      []string
	}
	lists := []list{{"requirements", "MLflow model requirements.txt", e.Requirements}}
	if e.BentoPending {
		in["bento_requirements"] = "judged after packaging"
	} else {
		lists = append(lists, list{"bento_requirements", "bento requirements", e.BentoRequirements})
	}
	for _, l := range lists {
		n, bad, named := scanRequirements(l.lines)
		in[l.key+"_count"] = n
		in[l.key+"_unpinned"] = bad
		in[l.key+"_sha256"] = digest(l.lines...)
		if len(named) > 0 {
			in[l.key+"_offending"] = named
		}
		switch {
		case n == 0:
			probs = append(probs, l.label+": no requirements recorded")
		case bad > 0:
			more := ""
			if bad > len(named) {
				more = fmt.Sprintf(", and %d more", bad-len(named))
			}
			probs = append(probs, fmt.Sprintf("%s: %d of %d requirements not pinned exactly (name==version): %s%s",
				l.label, bad, n, strings.Join(named, ", "), more))
		}
		summary = append(summary, fmt.Sprintf("%d in %s", n, l.label))
	}
	if len(probs) > 0 {
		return failed(RulePinnedRequirements, probs, in)
	}
	return passed(RulePinnedRequirements, "every requirement pinned name==version: "+strings.Join(summary, ", "), in)
}

// scanRequirements counts the requirements in a file's lines, the offending ones, and names the
// first maxNamed of those as `line N "text": why`.
func scanRequirements(lines []string) (count, bad int, named []string) {
	for _, l := range logicalLines(lines) {
		requirement, problem := judgeLine(l.text)
		if requirement {
			count++
		}
		if problem == "" {
			continue
		}
		bad++
		if len(named) < maxNamed {
			named = append(named, fmt.Sprintf("line %d %s: %s", l.n, quote(l.text), problem))
		}
	}
	return count, bad, named
}

type reqLine struct {
	n    int // 1-based number of the line it starts on
	text string
}

// logicalLines splits the lines on embedded newlines, joins "\" continuations (a comment line
// ends one), strips comments ("#" at the start or after whitespace) and drops blank lines.
func logicalLines(lines []string) []reqLine {
	var out []reqLine
	var cur []string
	start, n := 0, 0
	flush := func() {
		if t := stripComment(strings.Join(cur, " ")); t != "" {
			out = append(out, reqLine{n: start, text: t})
		}
		cur = cur[:0]
	}
	for _, chunk := range lines {
		for _, raw := range strings.Split(chunk, "\n") {
			n++
			raw = strings.TrimRight(raw, " \t\r")
			if len(cur) == 0 {
				start = n
			}
			body, cont := strings.CutSuffix(raw, `\`)
			if cont && !strings.HasPrefix(strings.TrimSpace(raw), "#") {
				cur = append(cur, body)
				continue
			}
			cur = append(cur, raw)
			flush()
		}
	}
	if len(cur) > 0 {
		flush()
	}
	return out
}

func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}

// judgeLine says whether a logical line names something to install, and why it is not pinned
// exactly ("" when it is, or when it is an allowed global option).
func judgeLine(line string) (requirement bool, problem string) {
	if strings.HasPrefix(line, "-") {
		return optionLine(line)
	}
	// As pip does: the requirement ends at the first whitespace-separated token starting with "-".
	tokens := strings.Fields(line)
	i := 0
	for i < len(tokens) && !strings.HasPrefix(tokens[i], "-") {
		i++
	}
	if p := pinProblem(strings.Join(tokens[:i], " ")); p != "" {
		return true, p
	}
	return true, hashOptions(tokens[i:])
}

func optionLine(line string) (requirement bool, problem string) {
	name := line
	if f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '=' }); len(f) > 0 {
		name = f[0]
	}
	if !strings.HasPrefix(name, "--") && len(name) > 2 {
		name = name[:2] // a short option with its value attached: -ehttps://…, -rother.txt
	}
	switch name {
	case "-e", "--editable":
		return true, "an editable install (" + name + ") is not pinned to a version"
	case "-r", "--requirement", "-c", "--constraint":
		return true, "includes another file (" + name + ") the deployer cannot judge"
	}
	if globalOptions[name] {
		return false, ""
	}
	return true, "option " + name + " is not a pinned requirement"
}

// hashOptions allows only --hash options after a requirement.
func hashOptions(opts []string) string {
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; {
		case strings.HasPrefix(o, "--hash=") && len(o) > len("--hash="):
		case o == "--hash" && i+1 < len(opts) && !strings.HasPrefix(opts[i+1], "-"):
			i++
		default:
			return "option " + quote(o) + " after a requirement is not a --hash"
		}
	}
	return ""
}

// pinProblem says why a requirement (without its options) is not name==version, or "".
func pinProblem(spec string) string {
	req, marker, hasMarker := strings.Cut(spec, ";")
	req = strings.TrimSpace(req)
	name := pkgName.FindString(req)
	rest := strings.TrimSpace(req[len(name):])
	switch {
	case name != "" && strings.HasPrefix(rest, "@"):
		return "a direct reference (name @ URL) instead of a pinned version"
	case urlOrPath(req):
		return "a URL or path instead of a pinned version"
	case name == "":
		return "not a name==version requirement"
	case hasMarker && strings.TrimSpace(marker) == "":
		return "an empty environment marker after ;"
	}
	if strings.HasPrefix(rest, "[") {
		x := pkgExtras.FindString(rest)
		if x == "" {
			return "malformed extras"
		}
		rest = strings.TrimSpace(rest[len(x):])
	}
	return specifierProblem(rest)
}

func urlOrPath(s string) bool {
	l := strings.ToLower(s)
	for _, suffix := range []string{".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"} {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return strings.Contains(l, "://") || strings.HasPrefix(l, "file:") || strings.ContainsAny(s, `/\`) ||
		strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~")
}

// specifierProblem judges what follows the name and extras.
func specifierProblem(rest string) string {
	switch {
	case rest == "":
		return "a bare name without a version"
	case strings.HasPrefix(rest, "@"):
		return "a direct reference (name @ URL) instead of a pinned version"
	case strings.HasPrefix(rest, "==="):
		return "arbitrary equality (===) is not an exact == pin"
	case strings.HasPrefix(rest, "=="):
		v := strings.TrimSpace(rest[2:])
		switch {
		case v == "":
			return "== without a version"
		case strings.Contains(v, ","):
			return "more than one version clause"
		case strings.Contains(v, "*"):
			return "a wildcard version (==" + v + ") is not an exact pin"
		case !exactVersion.MatchString(v):
			return "version " + quote(v) + " is not a version"
		}
		return ""
	}
	for _, op := range []string{"~=", ">=", "<=", "!=", "<", ">", "="} {
		if strings.HasPrefix(rest, op) {
			return op + " is not an exact pin (want ==)"
		}
	}
	return "not a name==version requirement"
}
