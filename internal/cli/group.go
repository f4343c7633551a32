package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/types"
)

var groupCmd = &command{
	name:    "group",
	summary: "create and run groups: members, admins, name, invite links",
	help: "Group creates groups and changes them. A group's membership is a chain of " +
		"changes, each signed by the device that made it, that every member checks; " +
		"its name is sealed with a secret only members have. GROUP is a group's id or " +
		"its name, when no other group of this profile has that name. A member is a " +
		"phone number, looked up on the server, or an account id. Admins add and " +
		"remove members, rename the group, make other members admins and make invite " +
		"links; every member can leave. 'parley send --group GROUP' sends to a group; " +
		"'parley recv' prints what members send.",
	subcommands: []*command{
		groupCreateCmd,
		groupListCmd,
		groupInfoCmd,
		groupAddCmd,
		groupRemoveCmd,
		groupLeaveCmd,
		groupAdminCmd,
		groupRenameCmd,
		groupInviteCmd,
		groupJoinCmd,
	},
}

var groupCreateCmd = &command{
	name:    "create",
	args:    "NAME --member PHONE... [flags]",
	summary: "create a group with members",
	help: "Create creates a group named NAME with this account as its admin and the " +
		"members given by --member (repeat it, or give several numbers separated by " +
		"commas, or list them after NAME), and prints the group's id. The members get " +
		"the group's secret end-to-end encrypted; their devices learn of the group at " +
		"once if they are online, or when they next connect.\n\n" + profileHelp,
	run: runGroupCreate,
}

var groupListCmd = &command{
	name:    "list",
	args:    "[--json] [flags]",
	summary: "list the groups of this profile",
	help: "List prints one line per group this profile is or was in: its id, its name, " +
		"how many members it has and this account's role (admin, member, or left).\n\n" + profileHelp,
	run: runGroupList,
}

var groupInfoCmd = &command{
	name:    "info",
	args:    "GROUP [--json] [flags]",
	summary: "show a group's name, description, members, admins and invite link",
	help: "Info connects (to learn of recent changes), then prints the group as this " +
		"device verified it: name, description, members with their roles, whether only " +
		"admins send, and whether an invite link is active (the link itself when this " +
		"device made it).\n\n" + profileHelp,
	run: runGroupInfo,
}

var groupAddCmd = &command{
	name:    "add",
	args:    "GROUP PHONE... [flags]",
	summary: "add members to a group (admins)",
	help:    "Add adds the given phone numbers or account ids to GROUP and sends them its secret.\n\n" + profileHelp,
	run:     func(ctx context.Context, e *env, args []string) int { return runGroupMembers(ctx, e, "add", args) },
}

var groupRemoveCmd = &command{
	name:    "remove",
	args:    "GROUP PHONE... [flags]",
	summary: "remove members from a group (admins)",
	help: "Remove removes the given members from GROUP. Every member then uses a new " +
		"sender key, so the removed ones can read nothing sent after.\n\n" + profileHelp,
	run: func(ctx context.Context, e *env, args []string) int { return runGroupMembers(ctx, e, "remove", args) },
}

var groupAdminCmd = &command{
	name:    "admin",
	args:    "GROUP PHONE... [--demote] [flags]",
	summary: "make members admins, or with --demote ordinary members (admins)",
	help:    "Admin makes the given members admins of GROUP; with --demote it makes them ordinary members. A group keeps at least one admin.\n\n" + profileHelp,
	run:     func(ctx context.Context, e *env, args []string) int { return runGroupMembers(ctx, e, "admin", args) },
}

var groupLeaveCmd = &command{
	name:    "leave",
	args:    "GROUP [flags]",
	summary: "leave a group",
	help: "Leave leaves GROUP. Its history stays in the profile; nothing more can be " +
		"sent to it. When the last admin leaves, the longest-standing member becomes " +
		"admin.\n\n" + profileHelp,
	run: runGroupLeave,
}

var groupRenameCmd = &command{
	name:    "rename",
	args:    "GROUP NAME [--description TEXT] [flags]",
	summary: "rename a group (admins)",
	help:    "Rename sets GROUP's name (and, with --description, its description); members see the change.\n\n" + profileHelp,
	run:     runGroupRename,
}

var groupInviteCmd = &command{
	name:    "invite",
	args:    "GROUP [--revoke] [--qr] [flags]",
	summary: "make (or revoke) a group's invite link (admins)",
	help: "Invite makes a new invite link for GROUP and prints it (with --qr as a QR " +
		"code too); an older link stops working. Anyone who has the link can see the " +
		"group's name and members and join it with 'parley group join': share it only " +
		"with people you would add. --revoke turns the link off.\n\n" + profileHelp,
	run: runGroupInvite,
}

var groupJoinCmd = &command{
	name:    "join",
	args:    "LINK [flags]",
	summary: "join a group by its invite link",
	help:    "Join checks the group behind LINK (parley://join/...) and joins it, then prints its name and id.\n\n" + profileHelp,
	run:     runGroupJoin,
}

// groupTimeout bounds a group command: connecting, the change, and the
// messages it sends.
const groupTimeout = 30 * time.Second

// parseInterspersed parses flags placed anywhere among the positional
// arguments (flag.Parse stops at the first positional one); after "--"
// everything is positional.
func (e *env) parseInterspersed(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if code, ok := e.parseFlags(fs, args); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, exitOK, true
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), exitOK, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a flag that may be repeated and takes comma-separated lists.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// groupSession opens the profile, connects (so that group changes queued
// for this device are applied first), runs fn, and waits until what fn
// queued (the group secret for new members) was sent.
func (e *env) groupSession(ctx context.Context, cmd, profile string, fn func(ctx context.Context, c *client.Client) error) int {
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	c, _, err := e.openRegistered(ctx, profile)
	if err != nil {
		return e.fail(cmd, err)
	}
	defer c.Close()
	if _, err := connect(ctx, c, 0); err != nil {
		return e.fail(cmd, connectTimeout(c, err, groupTimeout))
	}
	if err := c.WaitSynced(ctx); err != nil {
		return e.fail(cmd, connectTimeout(c, err, groupTimeout))
	}
	if err := fn(ctx, c); err != nil {
		return e.fail(cmd, groupError(err))
	}
	if err := c.WaitIdle(ctx); err != nil {
		fmt.Fprintf(e.stderr, "%s %s: not every message about the change was sent yet (%v); they go out with the next command that connects\n", e.root.name, cmd, err)
	}
	return exitOK
}

// groupError words the client's group errors for the user.
func groupError(err error) error {
	switch {
	case errors.Is(err, client.ErrNotAdmin):
		return fmt.Errorf("only an admin of the group may do this (%w)", err)
	case errors.Is(err, client.ErrNotMember):
		return errors.New("this account is not a member of the group (it left or was removed)")
	case errors.Is(err, client.ErrBadInvite):
		return fmt.Errorf("the invite link does not work: %w", err)
	case errors.Is(err, client.ErrGroupRejected):
		return fmt.Errorf("the server handed out a group change that does not verify; nothing was changed: %w", err)
	}
	return err
}

// resolveGroup finds a group by id or by its (unique) name.
func resolveGroup(ctx context.Context, c *client.Client, s string) (client.GroupInfo, error) {
	if id, err := types.ParseGroupID(s); err == nil {
		g, err := c.Group(ctx, id)
		if errors.Is(err, client.ErrUnknownGroup) {
			return g, fmt.Errorf("this profile knows no group %s", id)
		}
		return g, err
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		return client.GroupInfo{}, err
	}
	var found []client.GroupInfo
	for _, g := range groups {
		if strings.EqualFold(g.Name, s) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return client.GroupInfo{}, fmt.Errorf("this profile knows no group named %q ('parley group list' lists them)", s)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, g := range found {
		ids[i] = g.ID.String()
	}
	return client.GroupInfo{}, fmt.Errorf("%d groups are named %q; give one of their ids: %s", len(found), s, strings.Join(ids, ", "))
}

// resolveMembers resolves phone numbers and account ids.
func resolveMembers(ctx context.Context, c *client.Client, ss []string) ([]types.AccountID, error) {
	var out []types.AccountID
	for _, s := range ss {
		id, _, err := resolvePeer(ctx, c, s)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func runGroupCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "create")
	var members listFlag
	fs.Var(&members, "member", "a member's `phone` number or account id; repeat it or separate several by commas")
	description := fs.String("description", "", "the group's `description`")
	announce := fs.Bool("announcement-only", false, "only admins send")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 || strings.TrimSpace(pos[0]) == "" {
		return e.usageError("group create", "give the group's NAME")
	}
	name := pos[0]
	members = append(members, pos[1:]...)
	if len(name) > client.MaxGroupName {
		return e.usageError("group create", "the name is longer than %d bytes", client.MaxGroupName)
	}
	return e.groupSession(ctx, "group create", *profile, func(ctx context.Context, c *client.Client) error {
		accts, err := resolveMembers(ctx, c, members)
		if err != nil {
			return err
		}
		g, err := c.CreateGroupWith(ctx, client.GroupAttributes{Name: name, Description: *description}, accts, *announce)
		if err != nil {
			return err
		}
		info, err := c.Group(ctx, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Created group %q (%s) with %d members.\n", name, g, len(info.Members))
		return nil
	})
}

func runGroupMembers(ctx context.Context, e *env, verb string, args []string) int {
	cmd := "group " + verb
	fs := newFlagSet("group", verb)
	demote := new(bool)
	if verb == "admin" {
		demote = fs.Bool("demote", false, "make them ordinary members instead")
	}
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return e.usageError(cmd, "give GROUP and at least one member")
	}
	return e.groupSession(ctx, cmd, *profile, func(ctx context.Context, c *client.Client) error {
		g, err := resolveGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		accts, err := resolveMembers(ctx, c, pos[1:])
		if err != nil {
			return err
		}
		switch verb {
		case "add":
			err = c.AddMembers(ctx, g.ID, accts)
		case "remove":
			err = c.RemoveMembers(ctx, g.ID, accts)
		case "admin":
			err = c.SetAdmins(ctx, g.ID, accts, !*demote)
		}
		if err != nil {
			return err
		}
		done := map[string]string{"add": "Added %d member(s) to %q.\n", "remove": "Removed %d member(s) from %q.\n",
			"admin": "Made %d member(s) admin of %q.\n"}[verb]
		if verb == "admin" && *demote {
			done = "Made %d member(s) ordinary members of %q.\n"
		}
		fmt.Fprintf(e.stdout, done, len(accts), g.Name)
		return nil
	})
}

func runGroupLeave(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "leave")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("group leave", "give one GROUP")
	}
	return e.groupSession(ctx, "group leave", *profile, func(ctx context.Context, c *client.Client) error {
		g, err := resolveGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		if err := c.Leave(ctx, g.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Left %q.\n", g.Name)
		return nil
	})
}

func runGroupRename(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "rename")
	description := fs.String("description", "", "also set the group's `description`")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 || strings.TrimSpace(pos[1]) == "" {
		return e.usageError("group rename", "give GROUP and its new NAME")
	}
	descSet := false
	fs.Visit(func(f *flag.Flag) { descSet = descSet || f.Name == "description" })
	return e.groupSession(ctx, "group rename", *profile, func(ctx context.Context, c *client.Client) error {
		g, err := resolveGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		attrs := client.GroupAttributes{Name: pos[1], Description: g.Description, Picture: g.Picture}
		if descSet {
			attrs.Description = *description
		}
		if err := c.SetGroupAttributes(ctx, g.ID, attrs); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Renamed %q to %q.\n", g.Name, pos[1])
		return nil
	})
}

func runGroupInvite(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "invite")
	revoke := fs.Bool("revoke", false, "turn the invite link off")
	showQR := fs.Bool("qr", false, "print the link as a QR code too")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("group invite", "give one GROUP")
	}
	return e.groupSession(ctx, "group invite", *profile, func(ctx context.Context, c *client.Client) error {
		g, err := resolveGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		if *revoke {
			if err := c.RevokeInvite(ctx, g.ID); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "The invite link of %q is off.\n", g.Name)
			return nil
		}
		link, err := c.CreateInvite(ctx, g.ID)
		if err != nil {
			return err
		}
		if *showQR {
			pic, err := qrHalfBlocks([]byte(link))
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s\n", pic)
		}
		fmt.Fprintf(e.stdout, "%s\n", link)
		return nil
	})
}

func runGroupJoin(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "join")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("group join", "give the invite LINK (parley://join/...)")
	}
	if _, _, _, err := client.ParseInviteLink(pos[0]); err != nil {
		return e.usageError("group join", "that is not a whole Parley invite link (parley://join/GROUP/TOKEN#SECRET)")
	}
	return e.groupSession(ctx, "group join", *profile, func(ctx context.Context, c *client.Client) error {
		g, err := c.JoinInvite(ctx, pos[0])
		if err != nil {
			return err
		}
		info, err := c.Group(ctx, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Joined %q (%s), %d members.\n", info.Name, g, len(info.Members))
		return nil
	})
}

// groupJSON is group info --json and one line of group list --json.
type groupJSON struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	Description      string       `json:"description,omitempty"`
	Role             string       `json:"role"`
	Left             bool         `json:"left,omitempty"`
	AnnouncementOnly bool         `json:"announcement_only,omitempty"`
	Invite           bool         `json:"invite"`
	InviteLink       string       `json:"invite_link,omitempty"`
	Seq              uint64       `json:"seq"`
	Members          []memberJSON `json:"members,omitempty"`
	MemberCount      int          `json:"member_count"`
}

type memberJSON struct {
	Account string `json:"account"`
	Phone   string `json:"phone,omitempty"`
	Admin   bool   `json:"admin,omitempty"`
	You     bool   `json:"you,omitempty"`
}

func toGroupJSON(ctx context.Context, c *client.Client, g client.GroupInfo, members bool) groupJSON {
	j := groupJSON{ID: g.ID.String(), Name: g.Name, Description: g.Description, Role: g.Role.String(), Left: g.Left,
		AnnouncementOnly: g.AnnouncementOnly, Invite: g.Invite, InviteLink: g.InviteLink, Seq: g.Seq, MemberCount: len(g.Members)}
	if g.Left {
		j.Role = "left"
	}
	if members {
		self := c.Account().ID
		for _, m := range g.Members {
			mj := memberJSON{Account: m.Account.String(), Admin: m.Admin, You: m.Account == self}
			if ct, err := c.Store().Contact(ctx, m.Account); err == nil {
				mj.Phone = ct.Phone
			}
			if mj.You {
				mj.Phone = c.Account().Phone
			}
			j.Members = append(j.Members, mj)
		}
	}
	return j
}

func runGroupInfo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "info")
	asJSON := fs.Bool("json", false, "print one JSON object")
	profile := profileFlag(fs)
	pos, code, ok := e.parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("group info", "give one GROUP")
	}
	return e.groupSession(ctx, "group info", *profile, func(ctx context.Context, c *client.Client) error {
		g, err := resolveGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		j := toGroupJSON(ctx, c, g, true)
		if *asJSON {
			b, _ := json.Marshal(j)
			fmt.Fprintf(e.stdout, "%s\n", b)
			return nil
		}
		fmt.Fprintf(e.stdout, "Group:       %s\nID:          %s\n", j.Name, j.ID)
		if j.Description != "" {
			fmt.Fprintf(e.stdout, "Description: %s\n", j.Description)
		}
		fmt.Fprintf(e.stdout, "You:         %s\n", j.Role)
		who := "every member"
		if j.AnnouncementOnly {
			who = "admins only"
		}
		fmt.Fprintf(e.stdout, "Who sends:   %s\n", who)
		switch {
		case j.InviteLink != "":
			fmt.Fprintf(e.stdout, "Invite link: %s\n", j.InviteLink)
		case j.Invite:
			fmt.Fprintf(e.stdout, "Invite link: active (made on another device)\n")
		default:
			fmt.Fprintf(e.stdout, "Invite link: none\n")
		}
		fmt.Fprintf(e.stdout, "Members (%d):\n", len(j.Members))
		slices.SortStableFunc(j.Members, func(a, b memberJSON) int {
			if a.Admin != b.Admin {
				if a.Admin {
					return -1
				}
				return 1
			}
			return 0
		})
		for _, m := range j.Members {
			line := "  " + orIDString(m.Phone, m.Account)
			var notes []string
			if m.You {
				notes = append(notes, "you")
			}
			if m.Admin {
				notes = append(notes, "admin")
			}
			if len(notes) > 0 {
				line += " (" + strings.Join(notes, ", ") + ")"
			}
			fmt.Fprintln(e.stdout, line)
		}
		return nil
	})
}

func orIDString(phone, account string) string {
	if phone != "" {
		return phone
	}
	return account
}

func runGroupList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("group", "list")
	asJSON := fs.Bool("json", false, "print one JSON object per group")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	return e.groupSession(ctx, "group list", *profile, func(ctx context.Context, c *client.Client) error {
		groups, err := c.Groups(ctx)
		if err != nil {
			return err
		}
		for _, g := range groups {
			j := toGroupJSON(ctx, c, g, false)
			if *asJSON {
				b, _ := json.Marshal(j)
				fmt.Fprintf(e.stdout, "%s\n", b)
				continue
			}
			fmt.Fprintf(e.stdout, "%s  %-24s %3d members  %s\n", j.ID, j.Name, j.MemberCount, j.Role)
		}
		return nil
	})
}
