//! The `Date` header: every answer carries the virtual time (IMF-fixdate), and it moves with
//! the clock.

use crate::common::{Answer, secs, start_default};
use migplan_wire::http_date::parse_http_date;
use serde_json::json;

#[track_caller]
fn date_of(a: &Answer) -> i64 {
    let value = a
        .headers
        .get("date")
        .expect("a Date header")
        .to_str()
        .expect("ASCII");
    assert_eq!(
        a.headers.get_all("date").iter().count(),
        1,
        "one Date header"
    );
    parse_http_date(value).unwrap_or_else(|| panic!("not an IMF-fixdate: {value:?}"))
}

#[tokio::test]
async fn every_answer_is_dated_with_the_virtual_clock() {
    let (emu, c) = start_default().await;
    let src = c.register("date-01", 1).await;
    // The clock is frozen: the Date is its now, to the second.
    let now_s = emu.now_ms().div_euclid(1000) * 1000;
    let answers = [
        c.get("/v3/sources").await,
        c.get(&format!("/v3/sources/{src}")).await,
        c.get("/v3/tasks/00000000-0000-0000-0000-000000000000")
            .await,
        c.get("/v2/0123456789abcdef0123456789abcdef/migration-tasks")
            .await,
        c.raw("GET", "/v3/tasks", None, &[]).await,
        c.raw("GET", "/nowhere", None, &[]).await,
        c.raw("GET", "/_emulator/clock", None, &[]).await,
        c.raw("POST", "/v3/tasks", Some(vec![b'x'; 5 << 20]), &[])
            .await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![200, 200, 404, 200, 401, 404, 200, 413]);
    for a in &answers {
        assert_eq!(date_of(a), now_s, "{:?}", a.body);
    }

    // Advanced through the admin endpoint, as a client-side test would.
    c.admin(
        "POST",
        "/_emulator/clock/advance",
        Some(json!({"seconds": 86_400})),
    )
    .await;
    assert_eq!(date_of(&c.get("/v3/tasks").await), now_s + 86_400_000);
    emu.advance(secs(90));
    assert_eq!(
        date_of(&c.raw("GET", "/_emulator/clock", None, &[]).await),
        now_s + 86_490_000
    );
}
