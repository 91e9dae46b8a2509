//! What goes down to the sites: the network's people (one person however many sites they work
//! at) and a settings template, versioned so a site's pull costs nothing when nothing changed.

use deadpool_postgres::GenericClient;
use serde_json::Value;

use otklik_domain::Error;
use otklik_domain::link::{Person, Roster};

use crate::error::{HubResult, db};
use crate::ingest::bump_roster;

pub async fn people(client: &impl GenericClient) -> HubResult<Vec<Person>> {
    let rows = client
        .query(
            "SELECT p.id, p.name, COALESCE(array_agg(DISTINCT s.name ORDER BY s.name)
                                           FILTER (WHERE s.name IS NOT NULL), '{}')
             FROM people p
             LEFT JOIN registrars r ON r.person_id = p.id
             LEFT JOIN sites s ON s.id = r.site_id
             WHERE EXISTS (SELECT 1 FROM registrars x WHERE x.person_id = p.id)
             GROUP BY p.id, p.name ORDER BY p.name, p.id",
            &[],
        )
        .await
        .map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| Person {
            id: r.get(0),
            name: r.get(1),
            sites: r.get(2),
        })
        .collect())
}

/// The roster for a site that has version `since` (the lists only if they changed).
pub async fn pull(client: &impl GenericClient, since: Option<i64>) -> HubResult<Roster> {
    // The version first: a bump between the two reads makes the site ask again, never miss one.
    let row = client
        .query_one(
            "SELECT (SELECT last_value FROM roster_version), template_version, template
             FROM roster",
            &[],
        )
        .await
        .map_err(db)?;
    let version: i64 = row.get(0);
    Ok(Roster {
        version,
        people: if since == Some(version) {
            None
        } else {
            Some(people(client).await?)
        },
        template_version: row.get(1),
        template: row.get(2),
    })
}

/// Makes `from` the same person as `into`: their ratings count together from now on, in every
/// report (the roll-up is by site registrar, so the past is regrouped too).
pub async fn merge(
    client: &mut deadpool_postgres::Client,
    into: i64,
    from: i64,
) -> HubResult<Vec<Person>> {
    if into == from {
        return Err(Error::invalid("from", "is the same person").into());
    }
    let tx = client.transaction().await.map_err(db)?;
    for id in [into, from] {
        if tx
            .query_opt("SELECT 1 FROM people WHERE id = $1", &[&id])
            .await
            .map_err(db)?
            .is_none()
        {
            return Err(Error::NotFound { what: "person", id }.into());
        }
    }
    tx.execute(
        "UPDATE registrars SET person_id = $1 WHERE person_id = $2",
        &[&into, &from],
    )
    .await
    .map_err(db)?;
    tx.execute("DELETE FROM people WHERE id = $1", &[&from])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    bump_roster(&*client).await?;
    people(&*client).await
}

/// Sets the settings template (a JSON object of settings, as a site's PATCH /api/v1/settings
/// takes) or clears it (`null`); each site applies it at its next pull, checking it like its
/// own settings.
pub async fn set_template(client: &impl GenericClient, template: Value) -> HubResult<i64> {
    if !(template.is_object() || template.is_null()) {
        return Err(Error::invalid(
            "template",
            "must be an object of settings, or null to clear it",
        )
        .into());
    }
    let template = (!template.is_null()).then_some(template);
    let version = client
        .query_one(
            "UPDATE roster SET template = $1, template_version = template_version + 1
             RETURNING template_version",
            &[&template],
        )
        .await
        .map_err(db)?
        .get(0);
    bump_roster(client).await?;
    Ok(version)
}
