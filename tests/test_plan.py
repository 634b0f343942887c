"""The plan diff as a pure function: snapshots written by hand, no server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailprov.errors import PasswordsUnreadable
from mailprov.model import Agency, Contact, Mailbox
from mailprov.plan import DomainState, Snapshot, build_plan, diff_attributes
from mailprov.profiles import INETORGPERSON, IREDMAIL, PPOLICY_PERMANENT_LOCK, Profile

BASE = "ou=domains,dc=mail,dc=go,dc=id"


def agency(*mailboxes: Mailbox, domain: str = "contoh.go.id") -> Agency:
    return Agency(id="contoh", name="Pemkot Contoh", domain=domain, domain_display=domain, contact=Contact("X"),
                  quota_mb=2048, language="id", mailboxes=mailboxes)


def mbox(local: str, **kw: object) -> Mailbox:
    fields: dict[str, object] = {"name": "Budi Santoso", "title": "Staf", "domain": "contoh.go.id"}
    fields.update(kw)
    return Mailbox(local=local, **fields)  # type: ignore[arg-type]


def existing(profile_entry: dict[str, list[str]], password: bool = True) -> dict[str, list[str]]:
    entry = dict(profile_entry)
    if password:
        entry["userPassword"] = ["{SSHA}x"]
    return entry


def snapshot_of(ag: Agency, prof: Profile = INETORGPERSON, password: bool = True) -> Snapshot:
    state = DomainState(ag.domain, entry=prof.domain_entry(ag), container=bool(prof.mailbox_container))
    for m in ag.mailboxes:
        state.mailboxes[m.address] = (prof.mailbox_dn(BASE, m, ag.name),
                                      existing(prof.mailbox_entry(m, ag.name), password))
    return Snapshot(domains={ag.domain: state})


def test_empty_directory_plans_domain_then_mailboxes_in_order() -> None:
    ag = agency(mbox("walikota"), mbox("sekda"))
    plan = build_plan([ag], Snapshot(), INETORGPERSON, BASE)
    assert [(c.action, c.kind) for c in plan.changes] == [("create", "domain"), ("create", "mailbox"),
                                                           ("create", "mailbox")]
    assert plan.changes[0].dn == "ou=contoh.go.id,ou=domains,dc=mail,dc=go,dc=id"
    assert plan.changes[1].dn == "uid=walikota,ou=contoh.go.id,ou=domains,dc=mail,dc=go,dc=id"
    assert all(c.set_password for c in plan.changes[1:])
    assert plan.summary == {"create": 3, "modify": 0, "disable": 0, "enable": 0, "delete": 0, "unchanged": 0,
                            "unmanaged": 0}


def test_identical_directory_plans_nothing() -> None:
    ag = agency(mbox("walikota"), mbox("sekda", active=False))
    plan = build_plan([ag], snapshot_of(ag), INETORGPERSON, BASE)
    assert plan.empty and plan.unchanged == 3


def test_attribute_changes_are_listed_old_and_new() -> None:
    ag = agency(mbox("walikota"))
    snap = snapshot_of(ag)
    changed = agency(mbox("walikota", title="Walikota", name="Budi Santoso Putra"))
    plan = build_plan([changed], snap, INETORGPERSON, BASE)
    (change,) = plan.changes
    assert change.action == "modify" and not change.set_password
    data = change.to_dict()
    assert data["attributes"]["title"] == {"old": ["Staf"], "new": ["Walikota"]}
    assert data["attributes"]["cn"] == {"old": ["Budi Santoso"], "new": ["Budi Santoso Putra"]}
    assert data["attributes"]["sn"] == {"old": ["Santoso"], "new": ["Putra"]}
    assert "password" not in data


def test_removed_title_deletes_the_attribute() -> None:
    ag = agency(mbox("walikota"))
    plan = build_plan([agency(mbox("walikota", title=""))], snapshot_of(ag), INETORGPERSON, BASE)
    assert plan.changes[0].modifications["title"].new == []


def test_disable_and_enable_with_ppolicy_lock() -> None:
    ag = agency(mbox("a"), mbox("b", active=False))
    flipped = agency(mbox("a", active=False), mbox("b"))
    plan = build_plan([flipped], snapshot_of(ag), INETORGPERSON, BASE)
    actions = {c.address: (c.action, c.modifications["pwdAccountLockedTime"].new) for c in plan.changes}
    assert actions == {"a@contoh.go.id": ("disable", [PPOLICY_PERMANENT_LOCK]), "b@contoh.go.id": ("enable", [])}


def test_a_lockout_after_failed_logins_is_not_a_disable() -> None:
    """ppolicy writes the time of a failed-login lock into the attribute a disable uses; the two must not mix."""
    lockout = {"pwdAccountLockedTime": ["20261128083000Z"]}
    assert INETORGPERSON.is_active(lockout)
    assert INETORGPERSON.lockout_since(lockout) == "2026-11-28 08:30:00 UTC"
    assert INETORGPERSON.lockout_since({"pwdAccountLockedTime": [PPOLICY_PERMANENT_LOCK]}) is None
    assert INETORGPERSON.lockout_since({}) is None
    assert IREDMAIL.lockout_since(lockout) is None  # its status is accountStatus


def test_a_new_name_renames_an_entry_its_name_names() -> None:
    """With a profile whose RDN is cn, a new name is a rename (slapd refuses a replace of the naming value)."""
    from mailprov.cli.plan_view import details

    by_cn = replace(INETORGPERSON, mailbox_rdn="cn")
    before = snapshot_of(agency(mbox("a", name="Budi, Jr")), by_cn)
    (change,) = build_plan([agency(mbox("a", name="Budi Santoso"))], before, by_cn, BASE).changes
    assert change.dn.startswith("cn=Budi\\, Jr,") and change.new_dn == f"cn=Budi Santoso,ou=contoh.go.id,{BASE}"
    assert change.to_dict()["new_dn"] == change.new_dn and "renamed to cn=Budi Santoso" in details(change)
    # uid names the entry in the built-in profile: a new name is a plain modify there
    (plain,) = build_plan([agency(mbox("a", name="Budi Santoso"))], snapshot_of(agency(mbox("a", name="Budi"))),
                          INETORGPERSON, BASE).changes
    assert plain.new_dn is None and "new_dn" not in plain.to_dict()


def test_iredmail_quota_aliases_and_status() -> None:
    ag = agency(mbox("a", quota_mb=1024, aliases=("x@contoh.go.id",)))
    snap = snapshot_of(ag, IREDMAIL)
    changed = agency(mbox("a", quota_mb=2048, aliases=("x@contoh.go.id", "y@contoh.go.id"), active=False))
    (change,) = build_plan([changed], snap, IREDMAIL, BASE).changes
    assert change.action == "disable"
    mods = change.modifications
    assert mods["mailQuota"].old == [str(1024 * 1024 * 1024)] and mods["mailQuota"].new == [str(2 * 1024 ** 3)]
    # the table shows MiB, as domains.yaml gives quotas; the JSON keeps the directory's bytes
    from mailprov.cli.plan_view import details

    assert "mailQuota: 1024 MiB -> 2048 MiB" in details(change)
    assert change.to_dict()["attributes"]["mailQuota"] == {"old": [str(1024 ** 3)], "new": [str(2 * 1024 ** 3)]}
    assert sorted(mods["shadowAddress"].new) == ["x@contoh.go.id", "y@contoh.go.id"]
    assert mods["accountStatus"].new == ["disabled"]


def test_iredmail_plans_the_users_container() -> None:
    ag = agency(mbox("a"))
    plan = build_plan([ag], Snapshot(), IREDMAIL, BASE)
    assert [(c.kind, c.dn) for c in plan.changes] == [
        ("domain", "domainName=contoh.go.id,ou=domains,dc=mail,dc=go,dc=id"),
        ("container", "ou=Users,domainName=contoh.go.id,ou=domains,dc=mail,dc=go,dc=id"),
        ("mailbox", "mail=a@contoh.go.id,ou=Users,domainName=contoh.go.id,ou=domains,dc=mail,dc=go,dc=id"),
    ]
    # tables name entries as the unmanaged list does: the domain, the address (the DN is in the JSON)
    assert [c.label for c in plan.changes] == ["contoh.go.id", "contoh.go.id", "a@contoh.go.id"]


def test_multi_valued_order_and_extra_object_classes_are_not_changes() -> None:
    desired = {"objectClass": ["inetOrgPerson", "mailUser"], "shadowAddress": ["a", "b"]}
    actual = {"objectclass": ["mailUser", "inetOrgPerson", "shadowAccount"], "shadowAddress": ["b", "a"]}
    assert diff_attributes(desired, actual) == {}
    missing = diff_attributes(desired, {"objectClass": ["inetOrgPerson"], "shadowAddress": ["a", "b"]})
    assert missing["objectClass"].new == ["inetOrgPerson", "mailUser"]


def test_static_attributes_are_only_set_at_creation() -> None:
    ag = agency(mbox("a"))
    snap = snapshot_of(ag, IREDMAIL)
    (_, entry) = snap.domains[ag.domain].mailboxes["a@contoh.go.id"]
    entry["enabledService"] = ["mail", "smtp"]  # an operator removed IMAP for this account
    assert build_plan([ag], snap, IREDMAIL, BASE).empty


def test_mailbox_without_password_gets_one() -> None:
    ag = agency(mbox("a"), mbox("b", active=False))
    plan = build_plan([ag], snapshot_of(ag, password=False), INETORGPERSON, BASE)
    (change,) = plan.changes  # the disabled one cannot log in anyway
    assert change.address == "a@contoh.go.id" and change.action == "modify" and change.set_password
    assert change.to_dict()["password"] == "generated"


def test_passwords_the_bind_dn_may_not_read_stop_the_plan() -> None:
    """ppolicy's pwdChangedTime without userPassword on every mailbox: an ACL that hides the password, not
    mailboxes without one; the plan would reset them all."""
    ag = agency(mbox("a"), mbox("b"), mbox("c"))
    snap = snapshot_of(ag, password=False)
    for _dn, entry in snap.state(ag.domain).mailboxes.values():
        entry["pwdChangedTime"] = ["20261128020000Z"]
    hidden = r"^3 mailbox\(es\) had a password set .* \(e\.g\. a@contoh\.go\.id\)"
    with pytest.raises(PasswordsUnreadable, match=hidden):
        build_plan([ag], snap, INETORGPERSON, BASE)
    # one password shown: the bind DN can read them; the others were deleted and get new ones
    snap.state(ag.domain).mailboxes["a@contoh.go.id"][1]["userPassword"] = ["{SSHA}x"]
    plan = build_plan([ag], snap, INETORGPERSON, BASE)
    assert sorted(c.address or "" for c in plan.changes if c.set_password) == ["b@contoh.go.id", "c@contoh.go.id"]
    # no pwdChangedTime at all: the passwords never reached them (an interrupted apply), as before
    assert len(build_plan([ag], snapshot_of(ag, password=False), INETORGPERSON, BASE).changes) == 3


def test_passwords_are_judged_per_domain() -> None:
    """An ACL may hide passwords in one subtree only: a password readable in another domain proves nothing."""
    shown = agency(mbox("a"), domain="terbaca.go.id")
    hidden = agency(mbox("b", domain="tersembunyi.go.id"), domain="tersembunyi.go.id")
    snap = Snapshot(domains={**snapshot_of(shown).domains, **snapshot_of(hidden, password=False).domains})
    (_dn, entry), = snap.state(hidden.domain).mailboxes.values()
    entry["pwdChangedTime"] = ["20261128020000Z"]
    with pytest.raises(PasswordsUnreadable, match=r"^1 mailbox\(es\) had a password set .*b@tersembunyi\.go\.id"):
        build_plan([shown, hidden], snap, INETORGPERSON, BASE)
    assert build_plan([shown], snap, INETORGPERSON, BASE).empty


@pytest.mark.parametrize("answer", ["compareFalse", "compareTrue", "insufficientAccessRights", "noSuchObject"])
def test_without_ppolicy_a_compare_that_does_not_say_no_password_stops_the_plan(answer: str) -> None:
    """No pwdChangedTime (a directory without ppolicy): the directory's answer to a Compare of userPassword
    decides whether the mailboxes have none or the bind DN may not see them."""
    ag = agency(mbox("a"), mbox("b"), mbox("c", active=False))
    snap = snapshot_of(ag, password=False)
    snap.state(ag.domain).password_compare = answer
    words = (r"^3 mailbox\(es\) show no password to the bind DN, and the directory does not say they have none "
             rf"\(e\.g\. a@contoh\.go\.id: a compare of userPassword answered {answer}\): apply would replace")
    with pytest.raises(PasswordsUnreadable, match=words):
        build_plan([ag], snap, INETORGPERSON, BASE)


def test_a_compare_that_finds_no_password_lets_the_plan_set_them() -> None:
    ag = agency(mbox("a"), mbox("b"), mbox("c", active=False))
    snap = snapshot_of(ag, password=False)
    snap.state(ag.domain).password_compare = "noSuchAttribute"
    plan = build_plan([ag], snap, INETORGPERSON, BASE)
    assert [(c.address, c.set_password) for c in plan.changes] == [("a@contoh.go.id", True), ("b@contoh.go.id", True)]


def test_an_address_two_entries_carry_is_planned_against_the_profiles_entry() -> None:
    ag = agency(mbox("walikota"), mbox("sekda"))
    snap = snapshot_of(ag)
    state = snap.state(ag.domain)
    lama = f"uid=walikota-lama,ou=contoh.go.id,{BASE}"
    state.add_mailbox("walikota@contoh.go.id", lama, {"objectClass": ["inetOrgPerson"], "uid": ["walikota-lama"],
                                                      "mail": ["walikota@contoh.go.id"]})
    plan = build_plan([ag], snap, INETORGPERSON, BASE)
    assert plan.empty and plan.unchanged == 3
    assert plan.notes[1:] == [f"walikota@contoh.go.id is also carried by {lama}: mailprov manages "
                              f"uid=walikota,ou=contoh.go.id,{BASE} and leaves the other alone; remove it or change "
                              "its mail, as two entries with one address break the mail system's lookups"]
    assert plan.held_back == []  # the managed mailbox is as the file says: the other entry is the directory's issue
    # never pruned as a mailbox the file does not list: the address is listed
    assert build_plan([ag], snap, INETORGPERSON, BASE, prune=True).empty


def test_an_address_two_other_entries_carry_is_not_changed() -> None:
    """Before, the last entry found was planned: renamed onto the other's DN and given a new password, whose
    letter replaced the one holding the password the other account still has."""
    ag = agency(mbox("walikota"))
    state = DomainState(ag.domain, entry=INETORGPERSON.domain_entry(ag))
    for uid in ("wk-1", "wk-2"):
        state.add_mailbox("walikota@contoh.go.id", f"uid={uid},ou=contoh.go.id,{BASE}",
                          {"objectClass": ["inetOrgPerson"], "uid": [uid], "mail": ["walikota@contoh.go.id"]})
    plan = build_plan([ag], Snapshot(domains={ag.domain: state}), INETORGPERSON, BASE)
    assert plan.changes == [] and plan.unchanged == 1
    assert plan.notes[1:] == [f"walikota@contoh.go.id is carried by 2 entries, none of them uid=walikota,"
                              f"ou=contoh.go.id,{BASE}: uid=wk-1,ou=contoh.go.id,{BASE}; uid=wk-2,ou=contoh.go.id,"
                              f"{BASE}; mailprov changes none of them until one is left"]
    assert [(h.address, h.alias, h.note) for h in plan.held_back] == [("walikota@contoh.go.id", None, plan.notes[1])]


def test_a_new_address_an_entry_under_another_domain_carries_is_not_created() -> None:
    """Filed under the wrong domain (another tool's import): before, the plan created a second entry with the
    address, and the mail system's lookups found two."""
    contoh = agency(mbox("walikota"), mbox("sekda"))
    lain = agency(domain="lain.go.id")
    snap = snapshot_of(lain)
    misfiled = f"uid=walikota,ou=lain.go.id,{BASE}"
    snap.state("lain.go.id").add_mailbox("walikota@contoh.go.id", misfiled, {"mail": ["walikota@contoh.go.id"]})
    plan = build_plan([contoh, lain], snap, INETORGPERSON, BASE)
    assert [(c.action, c.kind, c.address) for c in plan.changes] == [
        ("create", "domain", None), ("create", "mailbox", "sekda@contoh.go.id")]
    assert plan.notes[1:] == [f"walikota@contoh.go.id is not created: {misfiled} already carries its address, "
                              "outside the domain's entries, and two entries with one address break the mail "
                              "system's lookups; move or delete that entry, or change the address in the "
                              "configuration"]
    assert plan.to_dict()["held_back"] == [{"address": "walikota@contoh.go.id", "alias": None,
                                            "reason": plan.notes[1]}]


def test_an_alias_carried_elsewhere_is_left_out_and_named() -> None:
    """The mailbox is created (or kept) without it: its owner gets the mailbox, and the alias waits."""
    prof = IREDMAIL
    ag = agency(mbox("sekda", aliases=("setda@contoh.go.id", "sekretariat@contoh.go.id")),
                mbox("humas", aliases=("info@contoh.go.id",)), mbox("kadis", aliases=("dinas@contoh.go.id",)))
    snap = snapshot_of(agency(mbox("kadis"), domain="contoh.go.id"), prof)
    # an entry outside every domain read (the directory's search found it), and one under another domain
    snap.elsewhere = {"setda@contoh.go.id": f"uid=setda,ou=people,{BASE}",
                      "dinas@contoh.go.id": f"uid=d,ou=people,{BASE}"}
    snap.domains["lain.go.id"] = DomainState("lain.go.id")
    snap.state("lain.go.id").add_mailbox("x@lain.go.id", f"mail=x@lain.go.id,{BASE}",
                                         {"mail": ["x@lain.go.id"], "shadowAddress": ["INFO@contoh.go.id"]})
    plan = build_plan([ag], snap, prof, BASE, whole=False)
    aliases = {c.address: c.attributes.get("shadowAddress") for c in plan.changes if c.action == "create"}
    assert aliases == {"sekda@contoh.go.id": ["sekretariat@contoh.go.id"], "humas@contoh.go.id": []}
    assert [c.address for c in plan.changes if c.action != "create"] == []  # kadis: nothing left to add
    assert plan.notes == [
        f"{address} does not get its alias {alias}: {dn} already carries it, outside the domain's entries, and two "
        "entries with one address break the mail system's lookups; move or delete that entry, or drop the alias "
        "from the configuration" for address, alias, dn in [
            ("sekda@contoh.go.id", "setda@contoh.go.id", f"uid=setda,ou=people,{BASE}"),
            ("humas@contoh.go.id", "info@contoh.go.id", f"mail=x@lain.go.id,{BASE}"),
            ("kadis@contoh.go.id", "dinas@contoh.go.id", f"uid=d,ou=people,{BASE}")]]
    # held back, each with its note: what apply's exit status and mailbox add's warnings go by
    assert [(h.address, h.alias, h.note) for h in plan.held_back] == [
        ("sekda@contoh.go.id", "setda@contoh.go.id", plan.notes[0]), ("humas@contoh.go.id", "info@contoh.go.id",
                                                                      plan.notes[1]),
        ("kadis@contoh.go.id", "dinas@contoh.go.id", plan.notes[2])]


def test_an_alias_a_mailbox_of_its_own_domain_carries_is_no_obstacle() -> None:
    """Moving an alias from one mailbox to a new one in the same apply: the domain's own entries are the plan's."""
    prof = IREDMAIL
    old = agency(mbox("sekda", aliases=("setda@contoh.go.id",)))
    ag = agency(mbox("sekda"), mbox("plt", aliases=("setda@contoh.go.id",)))
    plan = build_plan([ag], snapshot_of(old, prof), prof, BASE)
    assert [(c.action, c.address) for c in plan.changes] == [("create", "plt@contoh.go.id"),
                                                             ("modify", "sekda@contoh.go.id")]
    assert plan.notes == [] and plan.held_back == []


def test_prune_deletes_every_entry_of_an_address_the_file_does_not_list() -> None:
    ag = agency(mbox("a"))
    snap = snapshot_of(agency(mbox("a"), mbox("b")))
    snap.state(ag.domain).add_mailbox("b@contoh.go.id", f"uid=b2,ou=contoh.go.id,{BASE}", {"uid": ["b2"]})
    plan = build_plan([ag], snap, INETORGPERSON, BASE, prune=True, whole=False)
    assert [(c.action, c.dn) for c in plan.changes] == [("delete", f"uid=b,ou=contoh.go.id,{BASE}"),
                                                        ("delete", f"uid=b2,ou=contoh.go.id,{BASE}")]
    assert plan.found_mailboxes == 3


def test_a_static_value_may_name_the_mailbox_and_is_set_at_creation_only() -> None:
    prof = replace(INETORGPERSON, mailbox_static={"homeDirectory": ("/var/vmail/{domain}/{local}/",),
                                                   "loginShell": ("/bin/{{false}}",)})
    ag = agency(mbox("walikota"))
    (create,) = [c for c in build_plan([ag], Snapshot(), prof, BASE).changes if c.kind == "mailbox"]
    assert create.attributes["homeDirectory"] == ["/var/vmail/contoh.go.id/walikota/"]
    assert create.attributes["loginShell"] == ["/bin/{false}"]
    snap = snapshot_of(ag, prof)
    snap.state(ag.domain).mailboxes["walikota@contoh.go.id"][1]["homeDirectory"] = ["/srv/mail/lama/"]
    assert build_plan([ag], snap, prof, BASE).empty  # a path is never moved


def test_mailboxes_missing_from_the_file_are_reported_not_deleted() -> None:
    ag = agency(mbox("a"), mbox("b"))
    snap = snapshot_of(ag)
    plan = build_plan([agency(mbox("a"))], snap, INETORGPERSON, BASE)
    assert plan.empty and plan.unmanaged == ["b@contoh.go.id"]
    pruned = build_plan([agency(mbox("a"))], snap, INETORGPERSON, BASE, prune=True)
    assert [(c.action, c.address) for c in pruned.changes] == [("delete", "b@contoh.go.id")]


def test_domains_missing_from_the_file_are_pruned_children_first() -> None:
    gone = agency(mbox("a"), domain="lama.go.id")
    gone = replace(gone, mailboxes=(mbox("a", domain="lama.go.id"),))
    snap = snapshot_of(gone, IREDMAIL)
    snap.other_domains["lama.go.id"] = IREDMAIL.domain_dn(BASE, "lama.go.id")
    assert build_plan([], snap, IREDMAIL, BASE).unmanaged == ["lama.go.id"]
    plan = build_plan([], snap, IREDMAIL, BASE, prune=True)
    assert [(c.action, c.kind) for c in plan.changes] == [("delete", "mailbox"), ("delete", "container"),
                                                           ("delete", "domain")]
    assert [c.label for c in plan.changes] == ["a@lama.go.id", "lama.go.id", "lama.go.id"]
    # with --agency, other domains are not this run's business
    assert build_plan([], snap, IREDMAIL, BASE, prune=True, whole=False).empty


def test_pruning_most_mailboxes_is_a_mass_deletion() -> None:
    """A truncated CSV under --prune: apply must not take it without --force."""
    everyone = agency(*(mbox(f"pegawai{i:02d}") for i in range(20)))
    snap = snapshot_of(everyone)
    few = replace(everyone, mailboxes=everyone.mailboxes[:8])
    plan = build_plan([few], snap, INETORGPERSON, BASE, prune=True)
    assert plan.summary["delete"] == 12 and plan.found_mailboxes == 20
    assert plan.mass_deletion == ("12 of the 20 mailboxes in the directory would be deleted (more than 30%): a "
                                  "truncated CSV or the wrong configuration file looks like this")
    assert build_plan([few], snap, INETORGPERSON, BASE).mass_deletion is None  # without --prune nothing goes
    most = replace(everyone, mailboxes=everyone.mailboxes[:15])
    assert build_plan([most], snap, INETORGPERSON, BASE, prune=True).mass_deletion is None  # 5 of 20
    small = agency(*(mbox(f"p{i}") for i in range(12)))
    none_left = replace(small, mailboxes=small.mailboxes[:2])
    assert build_plan([none_left], snapshot_of(small), INETORGPERSON, BASE, prune=True).mass_deletion is None  # 10


def test_profile_note_for_unstored_fields() -> None:
    ag = agency(mbox("a", aliases=("x@contoh.go.id",)))
    plan = build_plan([ag], Snapshot(), INETORGPERSON, BASE)
    assert plan.notes == ["profile inetorgperson does not store quota_mb or aliases: they are not written to the "
                          "directory (1 mailbox has aliases)"]
    two = agency(mbox("a", aliases=("x@contoh.go.id",)), mbox("b", aliases=("y@contoh.go.id",)), mbox("c"))
    assert build_plan([two], Snapshot(), INETORGPERSON, BASE).notes[0].endswith("directory (2 mailboxes have aliases)")
    # no alias to lose: the quota is still said, no count of nothing
    assert build_plan([agency(mbox("c"))], Snapshot(), INETORGPERSON, BASE).notes == [
        "profile inetorgperson does not store quota_mb or aliases: they are not written to the directory"]
    assert build_plan([ag], Snapshot(), IREDMAIL, BASE).notes == []
