package commerce

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the agent must know every IANA zone whatever the host has
)

// TimeOfDay is a wall-clock time in minutes after midnight, 0 (00:00) to
// 1440 (24:00, the end of the day).
type TimeOfDay int

// EndOfDay is 24:00.
const EndOfDay TimeOfDay = 24 * 60

// ParseTimeOfDay reads "HH:MM" (00:00 to 24:00; "9:30" too).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 ||
		hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) || h[0] == '+' || h[0] == '-' {
		return 0, fmt.Errorf("%w: time %q is not HH:MM between 00:00 and 24:00", ErrInvalid, clip(s))
	}
	return TimeOfDay(hh*60 + mm), nil
}

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// MarshalText writes "HH:MM".
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads "HH:MM".
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Range is an opening range of one day, in wall-clock time. A Close not
// after Open means the range ends the next day: 22:00–02:00 is open from
// 10 pm until 2 am. 00:00–24:00 is the whole day.
type Range struct {
	Open  TimeOfDay `json:"open_time"`
	Close TimeOfDay `json:"close_time"`
}

// minutes returns the range as minutes after the start of its day, the end
// up to 48 hours for one that ends the next day.
func (r Range) minutes() (start, end int) {
	start, end = int(r.Open), int(r.Close)
	if end <= start {
		end += int(EndOfDay)
	}
	return start, end
}

func (r Range) validate() error {
	if r.Open < 0 || r.Open >= EndOfDay || r.Close < 0 || r.Close > EndOfDay {
		return fmt.Errorf("%w: range %s-%s is out of the day", ErrInvalid, r.Open, r.Close)
	}
	if r.Open == r.Close {
		return fmt.Errorf("%w: range %s-%s is empty (use 00:00-24:00 for the whole day)", ErrInvalid, r.Open, r.Close)
	}
	return nil
}

// WeeklyRange is a range on one day of every week. Its JSON is Meta's
// BusinessSchedule: {"day_of_week":"MONDAY","open_time":"09:00",
// "close_time":"18:00"}, extended with 24:00 and ranges past midnight.
type WeeklyRange struct {
	Day Weekday `json:"day_of_week"`
	Range
}

// Weekday is a time.Weekday written as Meta's MONDAY..SUNDAY.
type Weekday time.Weekday

var weekdayNames = [...]string{"SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"}

func (d Weekday) String() string {
	if d < 0 || int(d) >= len(weekdayNames) {
		return "Weekday(" + strconv.Itoa(int(d)) + ")"
	}
	return weekdayNames[d]
}

// MarshalText writes MONDAY..SUNDAY.
func (d Weekday) MarshalText() ([]byte, error) {
	if d < 0 || int(d) >= len(weekdayNames) {
		return nil, fmt.Errorf("%w: weekday %d", ErrInvalid, int(d))
	}
	return []byte(weekdayNames[d]), nil
}

// UnmarshalText reads MONDAY..SUNDAY (any case).
func (d *Weekday) UnmarshalText(b []byte) error {
	for i, n := range weekdayNames {
		if strings.EqualFold(n, string(b)) {
			*d = Weekday(i)
			return nil
		}
	}
	return fmt.Errorf("%w: weekday %q", ErrInvalid, clip(string(b)))
}

// Date is a calendar date, without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalid, clip(s))
	}
	return DateOf(t), nil
}

// DateOf is the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// MarshalText writes "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

func (d Date) compare(e Date) int {
	return cmp.Or(cmp.Compare(d.Year, e.Year), cmp.Compare(d.Month, e.Month), cmp.Compare(d.Day, e.Day))
}

// SpecialDay replaces the weekly hours of one date: closed (a holiday), or
// open during its own ranges. A range of the day before that runs past
// midnight still ends as it would have.
type SpecialDay struct {
	Date   Date    `json:"date"`
	Closed bool    `json:"closed"`
	Ranges []Range `json:"hours,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Hours are a business's opening hours: our extension, the Cloud API has
// none.
type Hours struct {
	// TimeZone is an IANA zone name, e.g. "America/Sao_Paulo".
	TimeZone string        `json:"timezone"`
	Weekly   []WeeklyRange `json:"weekly"`
	Special  []SpecialDay  `json:"special_days,omitempty"`
}

// Limits of Hours.
const (
	maxRangesPerDay = 12
	maxSpecialDays  = 1000
	maxNote         = 200
)

// Validate checks the time zone, that every range is within its day and not
// empty, that a day's ranges do not overlap, and that special days are
// distinct and either closed or with ranges.
func (h Hours) Validate() error {
	_, err := h.Schedule()
	return err
}

// Schedule validates h and prepares it for questions about time.
func (h Hours) Schedule() (*Schedule, error) {
	if h.TimeZone == "" || strings.ContainsAny(h.TimeZone, " \\") || strings.HasPrefix(h.TimeZone, "/") {
		return nil, fmt.Errorf("%w: time zone %q", ErrInvalid, clip(h.TimeZone))
	}
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil || h.TimeZone == "Local" {
		return nil, fmt.Errorf("%w: time zone %q is not an IANA zone", ErrInvalid, clip(h.TimeZone))
	}
	s := &Schedule{loc: loc, special: make(map[Date]SpecialDay, len(h.Special))}
	for _, w := range h.Weekly {
		if w.Day < 0 || w.Day > 6 {
			return nil, fmt.Errorf("%w: weekday %d", ErrInvalid, int(w.Day))
		}
		s.weekly[w.Day] = append(s.weekly[w.Day], w.Range)
	}
	for d, rs := range s.weekly {
		if err := checkDay(rs); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, Weekday(d))
		}
		slices.SortFunc(s.weekly[d], func(a, b Range) int { return cmp.Compare(a.Open, b.Open) })
	}
	if len(h.Special) > maxSpecialDays {
		return nil, fmt.Errorf("%w: more than %d special days", ErrInvalid, maxSpecialDays)
	}
	for _, sd := range h.Special {
		if _, dup := s.special[sd.Date]; dup {
			return nil, fmt.Errorf("%w: special day %s appears twice", ErrInvalid, sd.Date)
		}
		if sd.Date.Year < 1 || sd.Date.Year > 9999 || sd.Date.Month < 1 || sd.Date.Month > 12 || sd.Date.Day < 1 ||
			DateOf(time.Date(sd.Date.Year, sd.Date.Month, sd.Date.Day, 12, 0, 0, 0, time.UTC)) != sd.Date {
			return nil, fmt.Errorf("%w: special day %s is not a date", ErrInvalid, sd.Date)
		}
		if sd.Closed != (len(sd.Ranges) == 0) {
			return nil, fmt.Errorf("%w: special day %s must be closed or have hours, not both", ErrInvalid, sd.Date)
		}
		if err := checkDay(sd.Ranges); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, sd.Date)
		}
		if err := checkText(sd.Note, 0, maxNote, false); err != nil {
			return nil, fmt.Errorf("%w: note of %s %v", ErrInvalid, sd.Date, err)
		}
		sd.Ranges = slices.Clone(sd.Ranges)
		slices.SortFunc(sd.Ranges, func(a, b Range) int { return cmp.Compare(a.Open, b.Open) })
		s.special[sd.Date] = sd
	}
	return s, nil
}

// checkDay checks one day's ranges: each valid, none overlapping.
func checkDay(rs []Range) error {
	if len(rs) > maxRangesPerDay {
		return fmt.Errorf("%w: more than %d ranges in a day", ErrInvalid, maxRangesPerDay)
	}
	for _, r := range rs {
		if err := r.validate(); err != nil {
			return err
		}
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b Range) int { return cmp.Compare(a.Open, b.Open) })
	for i := 1; i < len(sorted); i++ {
		_, prevEnd := sorted[i-1].minutes()
		if start, _ := sorted[i].minutes(); start < prevEnd {
			return fmt.Errorf("%w: ranges %s-%s and %s-%s overlap", ErrInvalid,
				sorted[i-1].Open, sorted[i-1].Close, sorted[i].Open, sorted[i].Close)
		}
	}
	return nil
}

// Schedule answers questions about opening hours at given instants.
type Schedule struct {
	loc     *time.Location
	weekly  [7][]Range
	special map[Date]SpecialDay
}

// Period is a time during which the business is open, [Start, End).
type Period struct {
	Start, End time.Time
}

// Location is the business's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// rangesOn returns the ranges that start on date d.
func (s *Schedule) rangesOn(d Date) []Range {
	if sd, ok := s.special[d]; ok {
		return sd.Ranges
	}
	return s.weekly[d.Weekday()]
}

// Special returns the special day of date d, if there is one.
func (s *Schedule) Special(d Date) (SpecialDay, bool) {
	sd, ok := s.special[d]
	return sd, ok
}

// periods returns the opening periods that start on the dates from..to,
// in order, touching and overlapping ones merged.
func (s *Schedule) periods(from, to Date) []Period {
	var ps []Period
	for d := from; d.compare(to) <= 0; d = d.AddDays(1) {
		for _, r := range s.rangesOn(d) {
			start, end := r.minutes()
			p := Period{Start: s.wall(d, start), End: s.wall(d, end)}
			if p.End.After(p.Start) { // a range inside a DST gap is empty
				ps = append(ps, p)
			}
		}
	}
	slices.SortFunc(ps, func(a, b Period) int { return a.Start.Compare(b.Start) })
	var out []Period
	for _, p := range ps {
		if n := len(out); n > 0 && !p.Start.After(out[n-1].End) {
			if p.End.After(out[n-1].End) {
				out[n-1].End = p.End
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// wall is the instant at which the clocks of the schedule's zone show
// minute m (may exceed a day) of date d. A wall time that a DST change skips
// gives the instant the clocks jump past it; one that occurs twice, the
// first occurrence.
func (s *Schedule) wall(d Date, m int) time.Time {
	naive := time.Date(d.Year, d.Month, d.Day, 0, m, 0, 0, time.UTC)
	guess := time.Date(d.Year, d.Month, d.Day, 0, m, 0, 0, s.loc)
	// The offsets in force around the guess: its own and its neighbours'.
	start, end := guess.ZoneBounds()
	offsets := []int{offsetAt(guess)}
	if !start.IsZero() {
		offsets = append(offsets, offsetAt(start.Add(-time.Second).In(s.loc)))
	}
	if !end.IsZero() {
		offsets = append(offsets, offsetAt(end.In(s.loc)))
	}
	var best time.Time
	for _, off := range offsets {
		u := naive.Add(-time.Duration(off) * time.Second).In(s.loc)
		if offsetAt(u) == off && (best.IsZero() || u.Before(best)) {
			best = u
		}
	}
	if !best.IsZero() {
		return best
	}
	// In a gap: with the smallest offset (the one before the clocks went
	// forward) the naive time lands after the jump; the zone it lands in
	// began at the jump.
	low := slices.Min(offsets)
	after := naive.Add(-time.Duration(low) * time.Second).In(s.loc)
	jump, _ := after.ZoneBounds()
	return jump.In(s.loc)
}

func offsetAt(t time.Time) int {
	_, off := t.Zone()
	return off
}

// horizon is how far ahead ClosesAt and NextOpening look: beyond a year of
// being always open (or always closed) they give up.
const horizon = 400

// find looks for the first merged period, among those that start from the
// day before now's date on, for which fn returns true, looking further
// ahead when the answer could lie beyond what was looked at. A period that
// reaches the last date looked at may merge with later ones: its start is
// final, its end is not, so fn sees such a period only if !needEnd.
func (s *Schedule) find(now time.Time, needEnd bool, fn func(p Period) bool) (Period, bool) {
	today := DateOf(now.In(s.loc))
	for _, days := range []int{8, horizon} {
		limit := s.wall(today.AddDays(days), 0)
		for _, p := range s.periods(today.AddDays(-1), today.AddDays(days)) {
			if needEnd && !p.End.Before(limit) {
				break
			}
			if fn(p) {
				return p, true
			}
		}
	}
	return Period{}, false
}

// IsOpen reports whether the business is open at now.
func (s *Schedule) IsOpen(now time.Time) bool {
	today := DateOf(now.In(s.loc))
	for _, p := range s.periods(today.AddDays(-1), today) {
		if !now.Before(p.Start) && now.Before(p.End) {
			return true
		}
	}
	return false
}

// ClosesAt returns when the opening that includes now ends (back-to-back
// ranges count as one opening). ok is false when the business is closed at
// now, or stays open for the next year.
func (s *Schedule) ClosesAt(now time.Time) (t time.Time, ok bool) {
	if !s.IsOpen(now) {
		return time.Time{}, false
	}
	p, ok := s.find(now, true, func(p Period) bool { return !now.Before(p.Start) && now.Before(p.End) })
	return p.End, ok
}

// NextOpening returns the next instant after now at which the business
// opens: if it is open at now, the start of the opening after this one.
// ok is false when it does not open within the next year.
func (s *Schedule) NextOpening(now time.Time) (t time.Time, ok bool) {
	p, ok := s.find(now, false, func(p Period) bool { return p.Start.After(now) })
	return p.Start, ok
}

// Periods lists the openings that overlap [from, to), back-to-back ranges
// merged, with times in the business's zone ("today's hours").
func (s *Schedule) Periods(from, to time.Time) []Period {
	var out []Period
	if !to.After(from) {
		return nil
	}
	first, last := DateOf(from.In(s.loc)).AddDays(-1), DateOf(to.In(s.loc))
	for _, p := range s.periods(first, last) {
		if p.End.After(from) && p.Start.Before(to) {
			out = append(out, p)
		}
	}
	return out
}
