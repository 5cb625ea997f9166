package logmine

import (
	"bytes"
	"io"
	"strings"
)

// ReadAll reads every record of r. The output of `kubectl logs -l … --prefix` (each line led by
// "[pod/NAME/CONTAINER] ", lines of several pods interleaved) is split per pod first: a stack trace is
// never joined across pods, and pod names never split one event into several templates. Each record's
// Source is then "<o.Source>/<pod>".
func ReadAll(r io.Reader, o ReaderOptions) ([]Record, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if !hasKubectlPrefix(firstLine(data)) {
		return readRecords(bytes.NewReader(data), o)
	}
	var order []string
	byPod := map[string]*bytes.Buffer{}
	last := ""
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		pod, rest := splitKubectlPrefix(line)
		if pod == "" {
			pod, rest = last, line // an unprefixed line continues the last pod's output
		}
		b := byPod[pod]
		if b == nil {
			b = &bytes.Buffer{}
			byPod[pod] = b
			order = append(order, pod)
		}
		b.Write(rest)
		if !bytes.HasSuffix(rest, []byte("\n")) {
			b.WriteByte('\n')
		}
		last = pod
	}
	var out []Record
	for _, pod := range order {
		po := o
		po.Source = strings.TrimPrefix(o.Source+"/"+pod, "/")
		recs, err := readRecords(byPod[pod], po)
		out = append(out, recs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func readRecords(r io.Reader, o ReaderOptions) ([]Record, error) {
	rd := NewReader(r, o)
	var out []Record
	for {
		rec, ok := rd.Next()
		if !ok {
			return out, rd.Err()
		}
		out = append(out, rec)
	}
}

func firstLine(data []byte) []byte {
	data = bytes.TrimLeft(data, "\r\n")
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i]
	}
	return data
}

func hasKubectlPrefix(line []byte) bool {
	pod, _ := splitKubectlPrefix(line)
	return pod != ""
}

// splitKubectlPrefix splits "[pod/NAME/CONTAINER] rest" into the pod's "NAME/CONTAINER" and rest.
func splitKubectlPrefix(line []byte) (string, []byte) {
	if !bytes.HasPrefix(line, []byte("[pod/")) {
		return "", line
	}
	end := bytes.IndexByte(line, ']')
	if end < 0 || end > 300 || bytes.ContainsAny(line[:end], " \t") {
		return "", line
	}
	rest := line[end+1:]
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return string(line[len("[pod/"):end]), rest
}
