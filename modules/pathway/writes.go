package pathway

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Add implements Store.
func (s *Service) Add(ctx context.Context, in NewTrace) (*Trace, error) {
	content, err := normalizeContent(in.Content, s.opts.MaxJSONDepth)
	if err != nil {
		return nil, err
	}
	uid := uuid.NewString()
	return s.write(ctx, func() (*record, error) {
		ts := s.now()
		return &record{Op: opAdd, Trace: &Trace{UID: uid, Content: content, CreatedAtNs: ts, UpdatedAtNs: ts,
			Tags: cloneTags(in.Tags), Kind: in.Kind}}, nil
	})
}

// AddIdempotent implements Store.
func (s *Service) AddIdempotent(ctx context.Context, uid string, in NewTrace) (*Trace, bool, error) {
	if err := checkUID(uid); err != nil {
		return nil, false, err
	}
	content, err := normalizeContent(in.Content, s.opts.MaxJSONDepth)
	if err != nil {
		return nil, false, err
	}
	replayed := false
	t, err := s.write(ctx, func() (*record, error) {
		if _, ok := s.st.traces[uid]; ok {
			replayed = true
			return &record{Op: opReplay, UID: uid, TsNs: s.now()}, nil
		}
		ts := s.now()
		return &record{Op: opAdd, Trace: &Trace{UID: uid, Content: content, CreatedAtNs: ts, UpdatedAtNs: ts,
			Tags: cloneTags(in.Tags), Kind: in.Kind}}, nil
	})
	return t, replayed, err
}

// Update implements Store.
func (s *Service) Update(ctx context.Context, uid string, content json.RawMessage, tags []string) (*Trace, error) {
	if uid == "" {
		return nil, fmt.Errorf("%w: uid is required", ErrInvalid)
	}
	c, err := normalizeContent(content, s.opts.MaxJSONDepth)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, func() (*record, error) {
		if _, err := s.st.lookup(uid); err != nil {
			return nil, err
		}
		r := &record{Op: opUpdate, UID: uid, Content: c, TsNs: s.now()}
		if tags != nil {
			tg := cloneTags(tags)
			if tg == nil {
				tg = []string{}
			}
			r.Tags = &tg
		}
		return r, nil
	})
}

// Revise implements Store. The new trace inherits the predecessor's tags
// and kind unless in sets them; the predecessor stays active.
func (s *Service) Revise(ctx context.Context, predecessorUID string, in NewTrace) (*Trace, error) {
	if predecessorUID == "" {
		return nil, fmt.Errorf("%w: predecessor_uid is required", ErrInvalid)
	}
	content, err := normalizeContent(in.Content, s.opts.MaxJSONDepth)
	if err != nil {
		return nil, err
	}
	uid := uuid.NewString()
	return s.write(ctx, func() (*record, error) {
		pred, err := s.st.lookup(predecessorUID)
		if err != nil {
			return nil, fmt.Errorf("%w: predecessor %q", ErrNotFound, predecessorUID)
		}
		tags, kind := cloneTags(in.Tags), in.Kind
		if in.Tags == nil {
			tags = cloneTags(pred.t.Tags)
		}
		if kind == "" {
			kind = pred.t.Kind
		}
		ts := s.now()
		return &record{Op: opRevise, Trace: &Trace{UID: uid, Content: content, PredecessorUID: predecessorUID,
			CreatedAtNs: ts, UpdatedAtNs: ts, Tags: tags, Kind: kind}}, nil
	})
}

// Retire implements Store. Retiring a retired trace is a no-op success.
func (s *Service) Retire(ctx context.Context, uid string) (*Trace, error) {
	return s.write(ctx, func() (*record, error) {
		if _, err := s.st.lookup(uid); err != nil {
			return nil, err
		}
		return &record{Op: opRetire, UID: uid, TsNs: s.now()}, nil
	})
}

// checkUID validates a caller-chosen uid.
func checkUID(uid string) error {
	if uid == "" {
		return fmt.Errorf("%w: uid is required", ErrInvalid)
	}
	if len(uid) > 512 {
		return fmt.Errorf("%w: uid longer than 512 bytes", ErrInvalid)
	}
	if !utf8.ValidString(uid) {
		return fmt.Errorf("%w: uid is not valid UTF-8", ErrInvalid)
	}
	for _, r := range uid {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: uid contains a control character", ErrInvalid)
		}
	}
	return nil
}
