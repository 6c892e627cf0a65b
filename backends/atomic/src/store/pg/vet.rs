//! Vetting the connection role before any call uses it. The gateway's safety rests on this:
//! every transaction becomes `authenticated`, and SQL inside it can try to become something
//! else (`SET ROLE`, `set_config('role', …)`, `RESET ROLE`). PostgreSQL checks those against
//! the *login* role, so the login role must be unable to become anything that bypasses RLS.
//! Refused: a superuser; BYPASSRLS; CREATEROLE (it can grant itself any role); an owner of the
//! CRM tables (owners are exempt from RLS); INHERIT (the login role itself would hold
//! `authenticated`'s rights after a `RESET ROLE`); membership, direct or through other roles,
//! of any role with one of those properties (Supabase's `authenticator` can become
//! `service_role`) or of a predefined role that reads or writes all data, reaches server files
//! or programs, or acts on other sessions ([`PREDEFINED`]); and a role that cannot become
//! `authenticated` at all.

use crmgate_core::{Error, ErrorCode, Result};
use deadpool_postgres::Object;

const CRM_TABLES: &[&str] = &[
    "companies",
    "contacts",
    "contact_notes",
    "deals",
    "deal_notes",
    "tasks",
    "tags",
    "sales",
    "configuration",
];

/// Predefined roles a connection role must not be a member of, directly or through other
/// roles, and why.
pub(crate) const PREDEFINED: &[(&str, &str)] = &[
    ("pg_read_all_data", "reads every table, whatever its grants"),
    (
        "pg_write_all_data",
        "writes every table, whatever its grants",
    ),
    ("pg_read_server_files", "reads files on the database server"),
    (
        "pg_write_server_files",
        "writes files on the database server",
    ),
    (
        "pg_execute_server_program",
        "runs programs on the database server",
    ),
    ("pg_signal_backend", "cancels and ends other sessions"),
    (
        "pg_maintain",
        "maintains (vacuums, reindexes, locks) every table",
    ),
    (
        "pg_create_subscription",
        "connects the database to other servers",
    ),
];

/// One role the login role is, or can become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleFacts {
    pub name: String,
    pub is_login_role: bool,
    pub superuser: bool,
    pub bypass_rls: bool,
    pub create_role: bool,
    pub inherit: bool,
    pub owns_crm_tables: bool,
}

/// Read the facts and judge them.
pub(super) async fn vet(client: &Object) -> Result<()> {
    let tables: Vec<String> = CRM_TABLES.iter().map(|t| (*t).to_owned()).collect();
    let rows = client
        .query(
            "select b.rolname::text, b.rolname = current_user, b.rolsuper, b.rolbypassrls, \
                    b.rolcreaterole, b.rolinherit, \
                    exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                            where n.nspname = 'public' and c.relowner = b.oid \
                              and c.relname = any($1::text[])) \
             from pg_roles b where pg_has_role(current_user, b.oid, 'MEMBER')",
            &[&tables],
        )
        .await
        .map_err(super::records_error)?;
    let facts = rows
        .iter()
        .map(
            |r| -> std::result::Result<RoleFacts, tokio_postgres::Error> {
                Ok(RoleFacts {
                    name: r.try_get(0)?,
                    is_login_role: r.try_get(1)?,
                    superuser: r.try_get(2)?,
                    bypass_rls: r.try_get(3)?,
                    create_role: r.try_get(4)?,
                    inherit: r.try_get(5)?,
                    owns_crm_tables: r.try_get(6)?,
                })
            },
        )
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(super::records_error)?;
    match judge(&facts) {
        Ok(()) => {
            let me = facts
                .iter()
                .find(|f| f.is_login_role)
                .map(|f| f.name.as_str());
            tracing::info!(role = me.unwrap_or("?"), "database connection role vetted");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e.message, "database connection role refused");
            Err(e)
        }
    }
}

/// Refuse unsafe connection roles, saying why and what to use instead.
pub(crate) fn judge(facts: &[RoleFacts]) -> Result<()> {
    let Some(me) = facts.iter().find(|f| f.is_login_role) else {
        return Err(refuse(
            "the database did not describe the connection role".into(),
        ));
    };
    let why = |f: &RoleFacts| -> Option<&'static str> {
        if let Some((_, why)) = PREDEFINED.iter().find(|(name, _)| *name == f.name) {
            Some(*why)
        } else if f.superuser {
            Some("is a superuser")
        } else if f.bypass_rls {
            Some("has BYPASSRLS")
        } else if f.create_role {
            Some("has CREATEROLE (it can grant itself any role)")
        } else if f.owns_crm_tables {
            Some("owns the CRM tables (owners are exempt from row-level security)")
        } else {
            None
        }
    };
    if let Some(reason) = why(me) {
        return Err(refuse(format!(
            "the connection role {:?} {reason}",
            me.name
        )));
    }
    if me.inherit {
        return Err(refuse(format!(
            "the connection role {:?} is INHERIT: it must be NOINHERIT, so that it holds no \
             rights of its own (ALTER ROLE {} NOINHERIT)",
            me.name, me.name
        )));
    }
    if let Some((other, reason)) = facts
        .iter()
        .filter(|f| !f.is_login_role)
        .find_map(|f| why(f).map(|r| (f, r)))
    {
        return Err(refuse(format!(
            "the connection role {:?} can become {:?}, which {reason}",
            me.name, other.name
        )));
    }
    if !facts.iter().any(|f| f.name == "authenticated") {
        return Err(refuse(format!(
            "the connection role {:?} cannot become \"authenticated\" (GRANT authenticated TO {})",
            me.name, me.name
        )));
    }
    Ok(())
}

fn refuse(why: String) -> Error {
    Error::new(
        ErrorCode::Config,
        format!("refusing the database connection: {why}; row-level security would not hold"),
        "connect as a dedicated login role that can only become authenticated: CREATE ROLE \
         crmgate LOGIN NOINHERIT PASSWORD '…'; GRANT authenticated TO crmgate; then use it in \
         database_url (README: Atomic CRM)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, me: bool) -> RoleFacts {
        RoleFacts {
            name: name.into(),
            is_login_role: me,
            superuser: false,
            bypass_rls: false,
            create_role: false,
            inherit: false,
            owns_crm_tables: false,
        }
    }

    #[test]
    fn only_a_noinherit_role_that_can_become_authenticated_alone_passes() {
        let good = [
            role("crmgate", true),
            role("authenticated", false),
            role("anon", false),
        ];
        assert!(judge(&good).is_ok());
        let mut su = good.clone();
        su[0].superuser = true;
        assert!(judge(&su).unwrap_err().message.contains("superuser"));
        let mut owner = good.clone();
        owner[0].owns_crm_tables = true;
        assert!(judge(&owner).unwrap_err().message.contains("owns"));
        let mut inherit = good.clone();
        inherit[0].inherit = true;
        assert!(judge(&inherit).unwrap_err().message.contains("NOINHERIT"));
        let mut escalating = good.to_vec();
        let mut service = role("service_role", false);
        service.bypass_rls = true;
        escalating.push(service);
        let e = judge(&escalating).unwrap_err();
        assert!(
            e.message.contains("can become \"service_role\""),
            "{}",
            e.message
        );
        assert_eq!(e.code, ErrorCode::Config);
        for (predefined, why) in PREDEFINED {
            let mut member = good.to_vec();
            member.push(role(predefined, false));
            let e = judge(&member).unwrap_err();
            assert!(
                e.message
                    .contains(&format!("can become \"{predefined}\", which {why}")),
                "{}",
                e.message
            );
        }
        let outsider = [role("crmgate", true)];
        assert!(
            judge(&outsider)
                .unwrap_err()
                .message
                .contains("cannot become")
        );
    }
}
