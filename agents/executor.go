package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// Input is what a skill function receives: the request's text parts joined, and the first DataPart
// (structured JSON) decoded as a map. Either may be empty.
type Input struct {
	Text      string
	Data      map[string]any
	Message   *a2a.Message
	TaskID    a2a.TaskID
	ContextID string
	// Conversation is the task's messages in order (user requests and the agent's questions), ending
	// with Message. A follow-up to a task that asked for input carries what was said before, so the
	// skill can merge the answer with the original request.
	Conversation []*a2a.Message
}

// AskedKey is the metadata key of an input-required status message naming what was asked (the slot
// a bare answer such as "default" fills).
const AskedKey = "fixloop/asked"

// Asked returns what an agent message asked for, or "".
func Asked(m *a2a.Message) string {
	if m == nil || m.Role != a2a.MessageRoleAgent {
		return ""
	}
	s, _ := m.Metadata[AskedKey].(string)
	return s
}

// MessageText joins a message's text parts.
func MessageText(m *a2a.Message) string {
	if m == nil {
		return ""
	}
	var texts []string
	for _, p := range m.Parts {
		if t := p.Text(); t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, "\n")
}

// MessageData returns a message's first DataPart holding a JSON object.
func MessageData(m *a2a.Message) map[string]any {
	if m == nil {
		return nil
	}
	for _, p := range m.Parts {
		if d, ok := p.Data().(map[string]any); ok {
			return d
		}
	}
	return nil
}

// conversation lists the stored task's history plus its pending status message (a question not yet
// moved to history), then the current message, each message once.
func conversation(ec *a2asrv.ExecutorContext) []*a2a.Message {
	var out []*a2a.Message
	seen := map[string]bool{}
	add := func(m *a2a.Message) {
		if m == nil || (m.ID != "" && seen[m.ID]) {
			return
		}
		seen[m.ID] = true
		out = append(out, m)
	}
	if t := ec.StoredTask; t != nil {
		for _, m := range t.History {
			if m != ec.Message && (ec.Message == nil || m.ID != ec.Message.ID) {
				add(m)
			}
		}
		add(t.Status.Message)
	}
	add(ec.Message)
	return out
}

// Decode fills v (a struct with json tags) from the DataPart, or — without one — from the text when it
// is a JSON object. Plain text leaves v unchanged (the caller may then parse Text itself).
func (in Input) Decode(v any) error {
	var raw []byte
	switch {
	case in.Data != nil:
		raw, _ = json.Marshal(in.Data)
	case strings.HasPrefix(strings.TrimSpace(in.Text), "{"):
		raw = []byte(in.Text)
	default:
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("input does not match the skill's schema: %w", err)
	}
	return nil
}

// Output is a skill result: Data becomes a DataPart artifact, Summary a text part of the artifact and
// the completion message.
type Output struct {
	Data         any
	Summary      string
	ArtifactName string
	// State overrides the final state (default completed). TaskStateInputRequired sends Summary as the
	// question and Data (e.g. candidates) in the status message instead of an artifact.
	State a2a.TaskState
	// Ask names what an input-required answer fills (see AskedKey).
	Ask string
}

// Progress reports work in progress; each call becomes a working status update streamed to the client.
type Progress func(text string)

// Func is the body of a skill.
type Func func(ctx context.Context, in Input, progress Progress) (*Output, error)

// NewExecutor turns fn into an a2a-go AgentExecutor: it creates the task, streams progress as working
// status updates, emits the result as an artifact (DataPart + text summary) and completes, fails (error
// text as the status message) or is canceled through CancelTask.
func NewExecutor(fn Func) a2asrv.AgentExecutor {
	return &funcExecutor{fn: fn, running: map[a2a.TaskID]context.CancelFunc{}}
}

type funcExecutor struct {
	fn      Func
	mu      sync.Mutex
	running map[a2a.TaskID]context.CancelFunc
}

func agentText(ec a2a.TaskInfoProvider, text string) *a2a.Message {
	return a2a.NewMessageForTask(a2a.MessageRoleAgent, ec, a2a.NewTextPart(text))
}

func (e *funcExecutor) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		if ec.StoredTask == nil {
			if !yield(a2a.NewSubmittedTask(ec, ec.Message), nil) {
				return
			}
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ctx, span := telemetry.Start(ctx, "a2a task", attribute.String("a2a.task.id", string(ec.TaskID)),
			attribute.String("a2a.context.id", ec.ContextID))
		defer span.End()
		e.mu.Lock()
		e.running[ec.TaskID] = cancel
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.running, ec.TaskID)
			e.mu.Unlock()
		}()

		in := Input{Message: ec.Message, TaskID: ec.TaskID, ContextID: ec.ContextID, Text: MessageText(ec.Message),
			Data: MessageData(ec.Message), Conversation: conversation(ec)}

		// Progress events are produced on the executor goroutine's behalf: yield must be called from this
		// goroutine, so progress is funnelled through a channel.
		events := make(chan a2a.Event, 16)
		type result struct {
			out *Output
			err error
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- result{err: fmt.Errorf("internal error: %v", r)}
				}
			}()
			out, err := e.fn(ctx, in, func(text string) {
				select {
				case events <- a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, agentText(ec, text)):
				case <-ctx.Done():
				}
			})
			done <- result{out, err}
		}()
		if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, agentText(ec, "started")), nil) {
			return
		}
		for {
			select {
			case ev := <-events:
				if !yield(ev, nil) {
					return
				}
			case r := <-done:
				// Drain progress that raced with completion so the stream shows it in order.
				for drained := false; !drained; {
					select {
					case ev := <-events:
						if !yield(ev, nil) {
							return
						}
					default:
						drained = true
					}
				}
				e.finish(ctx, ec, r.out, r.err, yield)
				return
			}
		}
	}
}

func (e *funcExecutor) finish(ctx context.Context, ec *a2asrv.ExecutorContext, out *Output, err error, yield func(a2a.Event, error) bool) {
	if err != nil {
		state := a2a.TaskStateFailed
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			state = a2a.TaskStateCanceled
		}
		yield(a2a.NewStatusUpdateEvent(ec, state, agentText(ec, err.Error())), nil)
		return
	}
	if out == nil {
		out = &Output{}
	}
	if out.State == a2a.TaskStateInputRequired {
		yield(question(ec, out), nil)
		return
	}
	parts := resultParts(out)
	if len(parts) > 0 {
		ev := a2a.NewArtifactEvent(ec, parts...)
		ev.Artifact.Name = out.ArtifactName
		ev.LastChunk = true
		if !yield(ev, nil) {
			return
		}
	}
	state := out.State
	if state == a2a.TaskStateUnspecified {
		state = a2a.TaskStateCompleted
	}
	summary := out.Summary
	if summary == "" {
		summary = "done"
	}
	yield(a2a.NewStatusUpdateEvent(ec, state, agentText(ec, summary)), nil)
}

// question is the input-required status: the question as text, what fixloop can offer (candidates) as
// data, and what was asked in the metadata so the answer can be matched to it.
func question(ec *a2asrv.ExecutorContext, out *Output) a2a.Event {
	msg := a2a.NewMessageForTask(a2a.MessageRoleAgent, ec, resultParts(&Output{Summary: out.Summary})...)
	if out.Data != nil {
		msg.Parts = append(msg.Parts, dataPart(out.Data))
	}
	if out.Ask != "" {
		msg.Metadata = map[string]any{AskedKey: out.Ask}
	}
	return a2a.NewStatusUpdateEvent(ec, a2a.TaskStateInputRequired, msg)
}

// VerdictMediaType is the declared media type of result data parts.
const VerdictMediaType = "application/json"

func resultParts(out *Output) []*a2a.Part {
	var parts []*a2a.Part
	if out.Data != nil {
		parts = append(parts, dataPart(out.Data))
	}
	if out.Summary != "" {
		p := a2a.NewTextPart(out.Summary)
		p.MediaType = "text/plain"
		parts = append(parts, p)
	}
	return parts
}

func dataPart(v any) *a2a.Part {
	data := v
	// DataPart content must be a JSON object; round-trip structs into a map.
	if raw, err := json.Marshal(v); err == nil {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			data = m
		} else {
			data = map[string]any{"result": json.RawMessage(raw)}
		}
	}
	p := a2a.NewDataPart(data)
	p.MediaType = VerdictMediaType
	return p
}

func (e *funcExecutor) Cancel(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		e.mu.Lock()
		cancel := e.running[ec.TaskID]
		e.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCanceled, agentText(ec, "canceled on request")), nil)
	}
}
