package observer

import (
	"errors"
	"lakehouse/modules/kit"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Inbox limits from the original: the whole body at most 8 KiB; sender,
// subject and tag have CR/LF stripped (no header injection downstream) and
// are cut to 256 characters.
const (
	inboxMaxBytes = 8 << 10
	inboxFieldMax = 256
)

// InboxMessage is one message POST /v1/observer/inbox records.
type InboxMessage struct {
	Type     string `json:"type"`
	Sender   string `json:"sender"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
	Priority string `json:"priority"`
	Tag      string `json:"tag"`
}

func (m *Module) postInbox(c echo.Context) error {
	var msg InboxMessage
	if err := kit.DecodeJSON(c.Request().Body, &msg); err != nil {
		if errors.Is(err, kit.ErrBodyTooLarge) {
			return kit.TooLarge("inbox message exceeds %d bytes", inboxMaxBytes)
		}
		return err
	}
	if err := msg.normalize(); err != nil {
		return err
	}
	ev := m.obs.Record(Event{
		Source: SourceInbox, Endpoint: "inbox/" + msg.Type, Success: true,
		Principal: kit.PrincipalName(c), ClientIP: kit.ClientIP(c), RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		Fields: map[string]any{
			"type": msg.Type, "sender": msg.Sender, "subject": msg.Subject, "body": msg.Body,
			"priority": msg.Priority, "tag": msg.Tag,
		},
	})
	return c.JSON(http.StatusOK, InboxAccepted{Accepted: true, ID: ev.ID, Priority: msg.Priority, Type: msg.Type})
}

// normalize validates and cleans a message in place.
func (msg *InboxMessage) normalize() error {
	if strings.TrimSpace(msg.Body) == "" {
		return kit.BadRequest("body is required").WithDetails(map[string]any{"field": "body"})
	}
	msg.Type = strings.ToLower(strings.TrimSpace(msg.Type))
	switch msg.Type {
	case "":
		msg.Type = "email"
	case "email", "sms":
	default:
		return kit.BadRequest("type: %q is not email or sms", msg.Type).WithDetails(map[string]any{"field": "type"})
	}
	msg.Priority = strings.ToLower(strings.TrimSpace(msg.Priority))
	switch msg.Priority {
	case "":
		msg.Priority = "medium"
	case "urgent", "high", "medium", "low":
	default:
		return kit.BadRequest("priority: %q is not urgent, high, medium or low", msg.Priority).
			WithDetails(map[string]any{"field": "priority"})
	}
	msg.Sender = cleanHeader(msg.Sender)
	msg.Subject = cleanHeader(msg.Subject)
	msg.Tag = cleanHeader(msg.Tag)
	return nil
}

// cleanHeader strips CR and LF and cuts to inboxFieldMax characters.
func cleanHeader(s string) string {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if r := []rune(s); len(r) > inboxFieldMax {
		s = string(r[:inboxFieldMax])
	}
	return s
}
