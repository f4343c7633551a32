package commerce_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/commerce"
)

// hm builds a range from "HH:MM" strings.
func hm(open, close string) commerce.Range {
	o, err := commerce.ParseTimeOfDay(open)
	if err != nil {
		panic(err)
	}
	c, err := commerce.ParseTimeOfDay(close)
	if err != nil {
		panic(err)
	}
	return commerce.Range{Open: o, Close: c}
}

func weekly(day time.Weekday, open, close string) commerce.WeeklyRange {
	return commerce.WeeklyRange{Day: commerce.Weekday(day), Range: hm(open, close)}
}

func everyDay(open, close string) []commerce.WeeklyRange {
	var out []commerce.WeeklyRange
	for d := time.Sunday; d <= time.Saturday; d++ {
		out = append(out, weekly(d, open, close))
	}
	return out
}

func date(s string) commerce.Date {
	d, err := commerce.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// probe is one question to a schedule at an instant (UTC); zero times mean
// "no answer" (ok false).
type probe struct {
	at       string
	open     bool
	closesAt string
	next     string
}

func checkSchedule(t *testing.T, name string, h commerce.Hours, probes []probe) {
	t.Helper()
	s, err := h.Schedule()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, p := range probes {
		at := utc(p.at)
		if got := s.IsOpen(at); got != p.open {
			t.Errorf("%s at %s: IsOpen = %v, want %v", name, p.at, got, p.open)
		}
		c, ok := s.ClosesAt(at)
		if want := p.closesAt; (want == "") == ok || (ok && !c.Equal(utc(want))) {
			t.Errorf("%s at %s: ClosesAt = %v, %v; want %q", name, p.at, c.UTC(), ok, want)
		}
		n, ok := s.NextOpening(at)
		if want := p.next; (want == "") == ok || (ok && !n.Equal(utc(want))) {
			t.Errorf("%s at %s: NextOpening = %v, %v; want %q", name, p.at, n.UTC(), ok, want)
		}
		if ok && n.Location() != s.Location() {
			t.Errorf("%s: NextOpening is not in the business's zone", name)
		}
	}
}

// São Paulo had DST until 2019; its clocks jumped at midnight, so
// 2018-11-04 00:00-00:59 never happened and 2019-02-16 23:00-23:59 happened
// twice.
func TestHoursSaoPauloDST(t *testing.T) {
	const zone = "America/Sao_Paulo"
	checkSchedule(t, "spring forward", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Saturday, "22:00", "00:00"), // ends at a midnight that does not exist
		weekly(time.Sunday, "00:00", "02:00"),   // starts at it
		weekly(time.Sunday, "10:00", "12:00"),
	}}, []probe{
		{at: "2018-11-04 00:59", open: false, next: "2018-11-04 01:00"},
		{at: "2018-11-04 01:00", open: true, closesAt: "2018-11-04 04:00", next: "2018-11-04 12:00"},
		// 23:30 on Saturday, local: the two ranges are one opening.
		{at: "2018-11-04 02:30", open: true, closesAt: "2018-11-04 04:00", next: "2018-11-04 12:00"},
		// 01:30 on Sunday, -02.
		{at: "2018-11-04 03:30", open: true, closesAt: "2018-11-04 04:00", next: "2018-11-04 12:00"},
		{at: "2018-11-04 04:00", open: false, next: "2018-11-04 12:00"},
		{at: "2018-11-04 12:00", open: true, closesAt: "2018-11-04 14:00", next: "2018-11-11 00:00"},
	})
	// A range wholly inside the skipped hour is empty that day only.
	checkSchedule(t, "range in the gap", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Sunday, "00:15", "00:45"),
	}}, []probe{
		{at: "2018-11-04 02:00", open: false, next: "2018-11-11 02:15"},
		{at: "2018-11-04 03:00", open: false, next: "2018-11-11 02:15"},
		{at: "2018-11-11 02:20", open: true, closesAt: "2018-11-11 02:45", next: "2018-11-18 02:15"},
	})
	checkSchedule(t, "fall back", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Saturday, "20:00", "02:00"), // 7 real hours that night
	}}, []probe{
		{at: "2019-02-16 21:59", open: false, next: "2019-02-16 22:00"},
		{at: "2019-02-16 22:00", open: true, closesAt: "2019-02-17 05:00", next: "2019-02-23 23:00"},
		{at: "2019-02-17 04:30", open: true, closesAt: "2019-02-17 05:00", next: "2019-02-23 23:00"},
		{at: "2019-02-17 05:00", open: false, next: "2019-02-23 23:00"},
	})
	// Closing at a repeated wall time means its first occurrence.
	checkSchedule(t, "close in the repeated hour", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Saturday, "18:00", "23:30"),
	}}, []probe{
		{at: "2019-02-17 01:15", open: true, closesAt: "2019-02-17 01:30", next: "2019-02-23 21:00"},
		{at: "2019-02-17 02:15", open: false, next: "2019-02-23 21:00"}, // 23:15 again, -03
	})
}

// Berlin: CET→CEST at 02:00 on the last Sunday of March, back at 03:00 on
// the last Sunday of October.
func TestHoursBerlinDST(t *testing.T) {
	const zone = "Europe/Berlin"
	club := commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{weekly(time.Saturday, "22:00", "05:00")}}
	checkSchedule(t, "club, spring", club, []probe{
		{at: "2025-03-29 20:59", open: false, next: "2025-03-29 21:00"},
		{at: "2025-03-29 21:00", open: true, closesAt: "2025-03-30 03:00", next: "2025-04-05 20:00"},
		{at: "2025-03-30 02:30", open: true, closesAt: "2025-03-30 03:00", next: "2025-04-05 20:00"},
		{at: "2025-03-30 03:00", open: false, next: "2025-04-05 20:00"},
	})
	checkSchedule(t, "club, autumn", club, []probe{
		{at: "2025-10-25 20:00", open: true, closesAt: "2025-10-26 04:00", next: "2025-11-01 21:00"},
		{at: "2025-10-26 03:30", open: true, closesAt: "2025-10-26 04:00", next: "2025-11-01 21:00"},
		{at: "2025-10-26 04:00", open: false, next: "2025-11-01 21:00"},
	})
	checkSchedule(t, "opening in the skipped hour", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Sunday, "02:30", "04:00"),
	}}, []probe{
		{at: "2025-03-29 12:00", open: false, next: "2025-03-30 01:00"},
		{at: "2025-03-30 01:00", open: true, closesAt: "2025-03-30 02:00", next: "2025-04-06 00:30"},
	})
	checkSchedule(t, "opening in the repeated hour", commerce.Hours{TimeZone: zone, Weekly: []commerce.WeeklyRange{
		weekly(time.Sunday, "02:30", "03:30"),
	}}, []probe{
		{at: "2025-10-26 00:00", open: false, next: "2025-10-26 00:30"},
		{at: "2025-10-26 00:30", open: true, closesAt: "2025-10-26 02:30", next: "2025-11-02 01:30"},
		{at: "2025-10-26 01:45", open: true, closesAt: "2025-10-26 02:30", next: "2025-11-02 01:30"},
	})
}

// Jakarta (+07) and Kolkata (+05:30) have no DST; Kolkata's half hour must
// survive.
func TestHoursJakartaAndKolkata(t *testing.T) {
	var weekdays []commerce.WeeklyRange
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays = append(weekdays, weekly(d, "08:00", "17:00"))
	}
	checkSchedule(t, "Jakarta", commerce.Hours{TimeZone: "Asia/Jakarta", Weekly: weekdays}, []probe{
		{at: "2025-11-20 00:59", open: false, next: "2025-11-20 01:00"}, // Thursday 07:59
		{at: "2025-11-20 01:00", open: true, closesAt: "2025-11-20 10:00", next: "2025-11-21 01:00"},
		{at: "2025-11-21 10:00", open: false, next: "2025-11-24 01:00"}, // Friday 17:00 → Monday
		{at: "2025-11-22 20:00", open: false, next: "2025-11-24 01:00"},
	})
	kolkata := everyDay("09:30", "21:00")
	kolkata = append(kolkata, weekly(time.Friday, "22:00", "01:30"))
	checkSchedule(t, "Kolkata", commerce.Hours{TimeZone: "Asia/Kolkata", Weekly: kolkata}, []probe{
		{at: "2025-11-20 03:59", open: false, next: "2025-11-20 04:00"}, // Thursday 09:29
		{at: "2025-11-20 15:29", open: true, closesAt: "2025-11-20 15:30", next: "2025-11-21 04:00"},
		{at: "2025-11-21 15:30", open: false, next: "2025-11-21 16:30"}, // Friday 21:00 → 22:00
		{at: "2025-11-21 19:59", open: true, closesAt: "2025-11-21 20:00", next: "2025-11-22 04:00"},
		{at: "2025-11-21 20:00", open: false, next: "2025-11-22 04:00"},
	})
}

func TestHoursHolidays(t *testing.T) {
	const zone = "America/Sao_Paulo" // -03, no DST since 2019
	var shop []commerce.WeeklyRange
	for d := time.Monday; d <= time.Saturday; d++ {
		shop = append(shop, weekly(d, "09:00", "18:00"))
	}
	special := []commerce.SpecialDay{
		{Date: date("2025-12-24"), Ranges: []commerce.Range{hm("09:00", "13:00")}, Note: "Véspera de Natal"},
		{Date: date("2025-12-25"), Closed: true, Note: "Natal"},
		{Date: date("2025-12-28"), Ranges: []commerce.Range{hm("10:00", "14:00")}, Note: "Domingo especial"},
	}
	for d := 14; d <= 22; d++ { // Carnaval holidays
		special = append(special, commerce.SpecialDay{Date: commerce.Date{Year: 2026, Month: 2, Day: d}, Closed: true, Note: "Férias"})
	}
	checkSchedule(t, "shop", commerce.Hours{TimeZone: zone, Weekly: shop, Special: special}, []probe{
		{at: "2025-12-24 15:00", open: true, closesAt: "2025-12-24 16:00", next: "2025-12-26 12:00"}, // 12:00 local, closes at 13:00
		{at: "2025-12-24 17:00", open: false, next: "2025-12-26 12:00"},
		{at: "2025-12-25 15:00", open: false, next: "2025-12-26 12:00"},
		{at: "2025-12-27 22:00", open: false, next: "2025-12-28 13:00"}, // a special Sunday
		{at: "2025-12-28 14:00", open: true, closesAt: "2025-12-28 17:00", next: "2025-12-29 12:00"},
		{at: "2026-02-13 22:00", open: false, next: "2026-02-23 12:00"}, // closed for nine days
		{at: "2026-02-18 15:00", open: false, next: "2026-02-23 12:00"},
	})
	// A bar's night that began before a holiday still ends as usual.
	checkSchedule(t, "bar", commerce.Hours{TimeZone: zone, Weekly: everyDay("18:00", "02:00"),
		Special: []commerce.SpecialDay{{Date: date("2025-12-25"), Closed: true}}}, []probe{
		{at: "2025-12-25 04:00", open: true, closesAt: "2025-12-25 05:00", next: "2025-12-26 21:00"},
		{at: "2025-12-25 22:00", open: false, next: "2025-12-26 21:00"},
	})
}

func TestHoursAlwaysAndNever(t *testing.T) {
	checkSchedule(t, "24/7", commerce.Hours{TimeZone: "Europe/Berlin", Weekly: everyDay("00:00", "24:00")}, []probe{
		{at: "2025-03-30 01:30", open: true},
		{at: "2025-10-26 01:30", open: true},
	})
	checkSchedule(t, "24/7 but Christmas", commerce.Hours{TimeZone: "Europe/Berlin", Weekly: everyDay("00:00", "24:00"),
		Special: []commerce.SpecialDay{{Date: date("2025-12-25"), Closed: true}}}, []probe{
		{at: "2025-12-01 12:00", open: true, closesAt: "2025-12-24 23:00", next: "2025-12-25 23:00"},
		{at: "2025-12-25 12:00", open: false, next: "2025-12-25 23:00"},
	})
	checkSchedule(t, "no hours", commerce.Hours{TimeZone: "Asia/Jakarta"}, []probe{
		{at: "2025-12-01 12:00", open: false},
	})
}

func TestHoursPeriods(t *testing.T) {
	s, err := commerce.Hours{TimeZone: "Asia/Kolkata", Weekly: []commerce.WeeklyRange{
		weekly(time.Thursday, "09:30", "13:00"), weekly(time.Thursday, "14:00", "21:00"),
	}}.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Periods(utc("2025-11-19 18:30"), utc("2025-11-20 18:30")) // Thursday, local
	want := []commerce.Period{
		{Start: utc("2025-11-20 04:00"), End: utc("2025-11-20 07:30")},
		{Start: utc("2025-11-20 08:30"), End: utc("2025-11-20 15:30")},
	}
	if len(ps) != len(want) {
		t.Fatalf("Periods = %v", ps)
	}
	for i := range ps {
		if !ps[i].Start.Equal(want[i].Start) || !ps[i].End.Equal(want[i].End) {
			t.Errorf("period %d = %v–%v, want %v–%v", i, ps[i].Start, ps[i].End, want[i].Start, want[i].End)
		}
	}
}

func TestHoursValidation(t *testing.T) {
	for name, h := range map[string]commerce.Hours{
		"no zone":           {Weekly: everyDay("09:00", "17:00")},
		"unknown zone":      {TimeZone: "Mars/Olympus_Mons"},
		"Local":             {TimeZone: "Local"},
		"path":              {TimeZone: "../../etc/passwd"},
		"empty range":       {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{weekly(time.Monday, "09:00", "09:00")}},
		"open at 24:00":     {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{{Day: 1, Range: commerce.Range{Open: 1440, Close: 60}}}},
		"close after 24:00": {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{{Day: 1, Range: commerce.Range{Open: 60, Close: 1441}}}},
		"overlap": {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{
			weekly(time.Monday, "09:00", "13:00"), weekly(time.Monday, "12:00", "18:00")}},
		"overlap past midnight": {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{
			weekly(time.Monday, "22:00", "02:00"), weekly(time.Monday, "09:00", "23:00")}},
		"bad weekday":      {TimeZone: "UTC", Weekly: []commerce.WeeklyRange{{Day: 7, Range: hm("09:00", "10:00")}}},
		"closed and hours": {TimeZone: "UTC", Special: []commerce.SpecialDay{{Date: date("2025-12-25"), Closed: true, Ranges: []commerce.Range{hm("09:00", "10:00")}}}},
		"neither":          {TimeZone: "UTC", Special: []commerce.SpecialDay{{Date: date("2025-12-25")}}},
		"twice": {TimeZone: "UTC", Special: []commerce.SpecialDay{
			{Date: date("2025-12-25"), Closed: true}, {Date: date("2025-12-25"), Closed: true}}},
		"not a date": {TimeZone: "UTC", Special: []commerce.SpecialDay{{Date: commerce.Date{Year: 2025, Month: 2, Day: 30}, Closed: true}}},
	} {
		if err := h.Validate(); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	for _, ok := range []commerce.Hours{
		{TimeZone: "UTC"},
		{TimeZone: "America/Sao_Paulo", Weekly: []commerce.WeeklyRange{
			weekly(time.Friday, "09:00", "12:00"), weekly(time.Friday, "12:00", "18:00"), weekly(time.Friday, "22:00", "03:00")}},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

func TestTimeOfDay(t *testing.T) {
	for in, want := range map[string]commerce.TimeOfDay{"00:00": 0, "9:30": 570, "09:30": 570, "23:59": 1439, "24:00": 1440} {
		if got, err := commerce.ParseTimeOfDay(in); err != nil || got != want {
			t.Errorf("ParseTimeOfDay(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "9", "24:01", "25:00", "12:60", "12:5", "-1:00", "+1:00", "1:00:00", "ab:cd", "123:00"} {
		if _, err := commerce.ParseTimeOfDay(in); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("ParseTimeOfDay(%q): %v", in, err)
		}
	}
	if s := commerce.TimeOfDay(570).String(); s != "09:30" {
		t.Errorf("String() = %q", s)
	}
}

// The JSON form is Meta's BusinessSchedule shape, extended.
func TestHoursJSON(t *testing.T) {
	h := commerce.Hours{TimeZone: "America/Sao_Paulo",
		Weekly:  []commerce.WeeklyRange{weekly(time.Monday, "09:00", "18:00"), weekly(time.Friday, "22:00", "02:00")},
		Special: []commerce.SpecialDay{{Date: date("2025-12-25"), Closed: true, Note: "Natal"}, {Date: date("2025-12-24"), Ranges: []commerce.Range{hm("09:00", "13:00")}}}}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"timezone":"America/Sao_Paulo","weekly":[{"day_of_week":"MONDAY","open_time":"09:00","close_time":"18:00"},` +
		`{"day_of_week":"FRIDAY","open_time":"22:00","close_time":"02:00"}],"special_days":[{"date":"2025-12-25","closed":true,"note":"Natal"},` +
		`{"date":"2025-12-24","closed":false,"hours":[{"open_time":"09:00","close_time":"13:00"}]}]}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
	var back commerce.Hours
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, h) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"weekly":[{"day_of_week":"MONTAG","open_time":"09:00","close_time":"18:00"}]}`), &back); err == nil {
		t.Error("unknown weekday accepted")
	}
}

func TestBusinessProfileAndHoursStored(t *testing.T) {
	st := newStore(t)
	biz := commerce.NewBusiness(st)
	ctx := t.Context()
	if p, err := biz.Profile(ctx); err != nil || !reflect.DeepEqual(p, commerce.Profile{}) {
		t.Errorf("unset profile: %+v, %v", p, err)
	}
	if _, err := biz.Hours(ctx); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("unset hours: %v", err)
	}
	if _, err := biz.Schedule(ctx); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("unset schedule: %v", err)
	}
	h := commerce.Hours{TimeZone: "America/Sao_Paulo",
		Weekly: []commerce.WeeklyRange{weekly(time.Monday, "09:00", "12:00"), weekly(time.Monday, "13:00", "18:00"), weekly(time.Friday, "22:00", "02:00")},
		Special: []commerce.SpecialDay{
			{Date: date("2025-12-24"), Ranges: []commerce.Range{hm("09:00", "11:00"), hm("12:00", "13:00")}, Note: "Véspera"},
			{Date: date("2025-12-25"), Closed: true, Note: "Natal"},
		}}
	if err := biz.SetHours(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, err := biz.Hours(ctx)
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Errorf("stored hours\n%+v, %v\nwant\n%+v", got, err, h)
	}
	// Replacing drops what the new hours lack.
	h2 := commerce.Hours{TimeZone: "Asia/Jakarta", Weekly: []commerce.WeeklyRange{weekly(time.Sunday, "10:00", "14:00")}}
	if err := biz.SetHours(ctx, h2); err != nil {
		t.Fatal(err)
	}
	if got, _ := biz.Hours(ctx); !reflect.DeepEqual(got, h2) {
		t.Errorf("replaced hours %+v", got)
	}
	if err := biz.SetHours(ctx, commerce.Hours{TimeZone: "Nowhere/City"}); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("invalid hours: %v", err)
	}
	s, err := biz.Schedule(ctx)
	if err != nil || !s.IsOpen(utc("2025-11-23 04:00")) { // Sunday 11:00 in Jakarta
		t.Errorf("schedule from the store: %v", err)
	}
}
