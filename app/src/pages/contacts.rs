//! Contacts: import a CSV with a column mapping and a progress bar, write a segment and see how
//! many contacts it matches as you type (evaluated here, in the browser, over every contact),
//! save segments, export, and set the opt-out keywords.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::api::{
    AttributeColumn, AttributeKind, Contact, ImportMapping, ImportStatus, OptOutSettings, SavedSegment, SegmentRequest,
};
use switchboard_shared::segment::Segment;

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
use crate::i18n::use_i18n;

/// Milliseconds from the page's clock, for timing the segment count.
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// The header cells of a CSV's first line (quotes handled; enough for choosing columns).
pub fn header_cells(text: &str) -> Vec<String> {
    let line = text.trim_start_matches('\u{feff}').lines().next().unwrap_or_default();
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells.into_iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
}

/// The column whose name looks like `words`, if any.
fn guess(columns: &[String], words: &[&str]) -> String {
    columns.iter().find(|c| words.iter().any(|w| c.to_lowercase().contains(w))).cloned().unwrap_or_default()
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let contacts = RwSignal::new(Vec::<Contact>::new());
    let loaded = RwSignal::new(false);
    let fetch = Mutation::new();
    Effect::new(move |_| {
        reload.track();
        fetch.load(client::contacts(), move |list| {
            contacts.set(list);
            loaded.set(true);
        });
    });
    let on_imported = Callback::new(move |_: ()| reload.update(|n| *n += 1));
    view! {
        <section class="page">
            <div class="page-head">
                <h1>{move || i18n.t(key!("contacts.title"))}</h1>
                <a class="button secondary" href=client::contacts_export_url() download="contacts.csv">{move || i18n.t(key!("contacts.export"))}</a>
            </div>
            <ImportCard on_imported=on_imported />
            <ErrorNote error=fetch.error() />
            <SegmentCard contacts=contacts loaded=loaded />
            <OptOutCard />
        </section>
    }
}

#[component]
fn ImportCard(on_imported: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(None::<String>);
    let file_name = RwSignal::new(String::new());
    let columns = Signal::derive(move || text.with(|t| t.as_deref().map(header_cells).unwrap_or_default()));
    let rows = Signal::derive(move || {
        text.with(|t| t.as_deref().map_or(0, |t| t.lines().filter(|l| !l.trim().is_empty()).count().saturating_sub(1)))
    });
    let phone = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let opted_in = RwSignal::new(String::new());
    let add_tags = RwSignal::new(String::new());
    let country = RwSignal::new("HK".to_owned());
    // Every other column: skipped, or an attribute of a kind.
    let kinds = RwSignal::new(Vec::<(String, String)>::new());
    let status = RwSignal::new(None::<ImportStatus>);
    let importing = Mutation::new();
    let busy = importing.pending();

    let choose = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        file_name.set(file.name());
        status.set(None);
        importing.clear();
        leptos::task::spawn_local(async move {
            let Ok(value) = wasm_bindgen_futures::JsFuture::from(file.text()).await else {
                importing.refuse(key!("contacts.unreadable"));
                return;
            };
            let body = value.as_string().unwrap_or_default();
            let cols = header_cells(&body);
            phone.set(guess(&cols, &["phone", "mobile", "電話", "手機", "whatsapp"]));
            name.set(guess(&cols, &["name", "名"]));
            tags.set(guess(&cols, &["tag", "標籤"]));
            opted_in.set(guess(&cols, &["opt", "consent", "marketing", "同意"]));
            kinds.set(cols.iter().map(|c| (c.clone(), String::new())).collect());
            text.set(Some(body));
        });
    };
    let start = move |_| {
        let Some(body) = text.get_untracked() else { return };
        if phone.get_untracked().is_empty() {
            importing.refuse(key!("contacts.need_phone"));
            return;
        }
        let used = [phone.get_untracked(), name.get_untracked(), tags.get_untracked(), opted_in.get_untracked()];
        let attributes: Vec<AttributeColumn> = kinds
            .get_untracked()
            .into_iter()
            .filter(|(c, k)| !k.is_empty() && !used.contains(c))
            .map(|(column, k)| AttributeColumn {
                key: column.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect(),
                column,
                kind: match k.as_str() {
                    "number" => AttributeKind::Number,
                    "date" => AttributeKind::Date,
                    "bool" => AttributeKind::Bool,
                    _ => AttributeKind::Text,
                },
            })
            .collect();
        let some = |s: String| (!s.is_empty()).then_some(s);
        let mapping = ImportMapping {
            phone: phone.get_untracked(),
            name: some(name.get_untracked()),
            tags: some(tags.get_untracked()),
            add_tags: add_tags.get_untracked().split([',', '，']).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
            opted_in: some(opted_in.get_untracked()),
            attributes,
            default_country: country.get_untracked(),
        };
        // Started, then followed until it finishes: the whole run is one action.
        let run = async move {
            let mut s = client::import_contacts(&mapping, body).await?;
            let id = s.id;
            status.set(Some(s));
            loop {
                crate::components::sleep_ms(400).await;
                s = client::import_status(id).await?;
                let finished = s.finished;
                status.set(Some(s.clone()));
                if finished {
                    return Ok(s);
                }
            }
        };
        importing.run(run, move |_| on_imported.run(()));
    };
    let indexed_kinds = move || kinds.get().into_iter().enumerate().collect::<Vec<(usize, (String, String))>>();
    let column_select = move |signal: RwSignal<String>, id: &'static str, label: crate::i18n::Key, optional: bool| {
        view! {
            <label class="field">
                <span>{move || i18n.t(label)}</span>
                <select id=id on:change=move |ev| signal.set(event_target_value(&ev))>
                    <Show when=move || optional>
                        <option value="" selected=move || signal.get().is_empty()>{move || i18n.t(key!("contacts.none"))}</option>
                    </Show>
                    <For each=move || columns.get() key=|c| c.clone() children=move |c| {
                        let value = c.clone();
                        view! { <option value=c.clone() selected=move || signal.get() == value>{c.clone()}</option> }
                    } />
                </select>
            </label>
        }
    };
    let percent = move || {
        status.with(|s| match s {
            Some(s) if s.finished => 100.0,
            Some(s) => (s.done as f64 / rows.get().max(1) as f64 * 100.0).min(99.0),
            None => 0.0,
        })
    };
    view! {
        <details class="card form-card" id="import-contacts">
            <summary><h2>{move || i18n.t(key!("contacts.import"))}</h2></summary>
            <div class="stack">
                <label class="field">
                    <span>{move || i18n.t(key!("contacts.file"))}</span>
                    <input type="file" id="import-file" accept=".csv,text/csv" on:change=choose />
                </label>
                <Show when=move || text.with(Option::is_some)>
                    <p class="muted">{move || i18n.t(key!("contacts.rows")).replace("{n}", &rows.get().to_string()).replace("{file}", &file_name.get())}</p>
                    <div class="form-grid">
                        {column_select(phone, "map-phone", key!("contacts.col_phone"), false)}
                        {column_select(name, "map-name", key!("contacts.col_name"), true)}
                        {column_select(tags, "map-tags", key!("contacts.col_tags"), true)}
                        {column_select(opted_in, "map-opted-in", key!("contacts.col_opted_in"), true)}
                        <label class="field">
                            <span>{move || i18n.t(key!("contacts.country"))}</span>
                            <select id="map-country" on:change=move |ev| country.set(event_target_value(&ev))>
                                {["HK", "TW", "MO", "CN", "SG", "MY", "JP", "US", "GB", "AU"].into_iter().map(|c| view! {
                                    <option value=c selected=move || country.get() == c>{move || i18n.lookup(&format!("country.{c}")).unwrap_or_else(|| c.to_owned())}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="field">
                            <span>{move || i18n.t(key!("contacts.add_tags"))}</span>
                            <input id="map-add-tags" placeholder="2026 fair, VIP" prop:value=add_tags on:input=move |ev| add_tags.set(event_target_value(&ev)) />
                        </label>
                    </div>
                    <fieldset class="field">
                        <legend>{move || i18n.t(key!("contacts.attributes"))}</legend>
                        <div class="form-grid">
                            <For each=indexed_kinds key=|(i, (c, _))| (*i, c.clone()) children=move |(i, (column, _))| {
                                let set = move |ev: leptos::ev::Event| {
                                    let v = event_target_value(&ev);
                                    kinds.update(|k| if let Some(e) = k.get_mut(i) { e.1 = v });
                                };
                                view! {
                                    <label class="field small">
                                        <span>{column.clone()}</span>
                                        <select on:change=set data-column=column.clone()>
                                            <option value="">{move || i18n.t(key!("contacts.skip"))}</option>
                                            <option value="text">{move || i18n.t(key!("contacts.kind_text"))}</option>
                                            <option value="number">{move || i18n.t(key!("contacts.kind_number"))}</option>
                                            <option value="date">{move || i18n.t(key!("contacts.kind_date"))}</option>
                                            <option value="bool">{move || i18n.t(key!("contacts.kind_bool"))}</option>
                                        </select>
                                    </label>
                                }
                            } />
                        </div>
                    </fieldset>
                    <button type="button" class="primary" id="start-import" on:click=start disabled=move || busy.get()>
                        {move || if busy.get() { i18n.t(key!("contacts.importing")) } else { i18n.t(key!("contacts.start_import")) }}
                    </button>
                </Show>
                <Show when=move || status.with(Option::is_some)>
                    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || percent().round().to_string()>
                        <span style:width=move || format!("{}%", percent())></span>
                    </div>
                    {move || status.get().map(|s| {
                        if let Some(e) = &s.error {
                            view! { <p class="error" role="alert">{e.clone()}</p> }.into_any()
                        } else if s.finished {
                            view! {
                                <p id="import-result" class="ok-text">
                                    {i18n.t(key!("contacts.result")).replace("{created}", &s.created.to_string()).replace("{merged}", &s.merged.to_string()).replace("{rejected}", &s.rejected.to_string())}
                                    {(s.rejected > 0).then(|| view! {
                                        " " <a id="rejected-link" href=client::rejected_rows_url(s.id) download="rejected-rows.csv">{i18n.t(key!("contacts.rejected_download"))}</a>
                                    })}
                                </p>
                            }.into_any()
                        } else if s.done as usize >= rows.get() {
                            view! { <p class="muted">{i18n.t(key!("contacts.saving"))}</p> }.into_any()
                        } else {
                            view! { <p class="muted">{i18n.t(key!("contacts.reading")).replace("{done}", &s.done.to_string()).replace("{total}", &rows.get().to_string())}</p> }.into_any()
                        }
                    })}
                </Show>
                <ErrorNote error=importing.error() />
            </div>
        </details>
    }
}

#[component]
fn SegmentCard(contacts: RwSignal<Vec<Contact>>, loaded: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let expression = RwSignal::new(String::new());
    let segment_name = RwSignal::new(String::new());
    let saved_as = RwSignal::new(None::<String>);
    let saving = Mutation::new();
    let reload_saved = RwSignal::new(0u32);
    let saved_list = RwSignal::new(Vec::<SavedSegment>::new());
    Effect::new(move |_| {
        reload_saved.track();
        leptos::task::spawn_local(async move {
            if let Ok(list) = client::segments().await {
                saved_list.set(list);
            }
        });
    });
    // (matching indices, how long counting took, or the error with its pointer)
    let evaluation = Memo::new(move |_| {
        let text = expression.get();
        if text.trim().is_empty() {
            return Ok((None, 0.0));
        }
        match Segment::parse(&text) {
            Ok(segment) => {
                let now = js_sys::Date::now() as i64;
                let started = now_ms();
                let matched = contacts.with(|list| list.iter().filter(|c| segment.matches(&c.fields, now)).count());
                Ok((Some(matched), now_ms() - started))
            }
            Err(e) => Err((e.message.clone(), e.pointer(&text))),
        }
    });
    let total = move || contacts.with(Vec::len);
    let shown = Memo::new(move |_| {
        let text = expression.get();
        // No expression: everyone; a malformed one: nobody (its error is shown instead).
        let segment = if text.trim().is_empty() { Some(Segment::Everyone) } else { Segment::parse(&text).ok() };
        let now = js_sys::Date::now() as i64;
        match segment {
            Some(segment) => {
                contacts.with(|list| list.iter().filter(|c| segment.matches(&c.fields, now)).take(50).cloned().collect::<Vec<_>>())
            }
            None => Vec::new(),
        }
    });
    let save = move |_| {
        let request = SegmentRequest { name: segment_name.get_untracked(), expression: expression.get_untracked() };
        saved_as.set(None);
        saving.run(async move { client::save_segment(&request).await }, move |s| {
            saved_as.set(Some(s.name));
            reload_saved.update(|n| *n += 1);
        });
    };
    let lang = move || i18n.lang.get().tag();
    view! {
        <div class="card stack" id="segments">
            <h2>{move || i18n.t(key!("contacts.segment"))}</h2>
            <Show when=move || saved_list.with(|l| !l.is_empty())>
                <div class="chips">
                    <For each=move || saved_list.get() key=|s| s.id children=move |s| {
                        let e = s.expression.clone();
                        view! { <button type="button" class="chip" title=e.clone() on:click=move |_| expression.set(e.clone())>{s.name.clone()}</button> }
                    } />
                </div>
            </Show>
            <label class="field">
                <span>{move || i18n.t(key!("contacts.segment_label"))}</span>
                <textarea id="segment-expression" rows="2" spellcheck="false" placeholder="tag vip and spend >= 500 and last_inbound within 30 days"
                    prop:value=expression on:input=move |ev| expression.set(event_target_value(&ev))></textarea>
            </label>
            <details class="muted help">
                <summary>{move || i18n.t(key!("contacts.segment_help_title"))}</summary>
                <pre class="help-text">{move || i18n.t(key!("contacts.segment_help"))}</pre>
            </details>
            {move || match evaluation.get() {
                Err((message, pointer)) => view! {
                    <div class="error" role="alert" id="segment-error">
                        <p>{message}</p>
                        <pre class="pointer">{pointer}</pre>
                    </div>
                }.into_any(),
                Ok((Some(n), ms)) => view! {
                    <p class="count" id="segment-count" data-count=n.to_string() data-ms=format!("{ms:.2}")>
                        <strong>{i18n.t(key!("contacts.matches")).replace("{n}", &n.to_string()).replace("{total}", &total().to_string())}</strong>
                        <span class="muted">{i18n.t(key!("contacts.counted_in")).replace("{ms}", &format!("{ms:.1}"))}</span>
                    </p>
                }.into_any(),
                Ok((None, _)) => view! {
                    <p class="count muted" id="segment-count" data-count=total().to_string()>
                        {move || if loaded.get() { i18n.t(key!("contacts.all")).replace("{total}", &total().to_string()) } else { i18n.t(key!("common.loading")) }}
                    </p>
                }.into_any(),
            }}
            <Show when=move || evaluation.with(|e| matches!(e, Ok((Some(_), _))))>
                <div class="row-actions">
                    <input id="segment-name" placeholder=move || i18n.t(key!("contacts.segment_name")) prop:value=segment_name on:input=move |ev| segment_name.set(event_target_value(&ev)) />
                    <button type="button" id="save-segment" class="secondary" on:click=save>{move || i18n.t(key!("contacts.save_segment"))}</button>
                </div>
            </Show>
            {move || saved_as.get().map(|name| view! { <p class="ok-text">{i18n.t(key!("contacts.segment_saved")).replace("{name}", &name)}</p> })}
            <ErrorNote error=saving.error() />
            <Show when=move || loaded.get() && total() == 0>
                <p class="empty">{move || i18n.t(key!("contacts.empty"))}</p>
            </Show>
            <Show when=move || { total() > 0 && evaluation.with(Result::is_ok) }>
                <div class="table-wrap">
                    <table class="grid" id="contacts">
                        <thead><tr>
                            <th>{move || i18n.t(key!("contacts.phone"))}</th>
                            <th>{move || i18n.t(key!("contacts.name"))}</th>
                            <th>{move || i18n.t(key!("contacts.tags"))}</th>
                            <th>{move || i18n.t(key!("contacts.consent"))}</th>
                            <th>{move || i18n.t(key!("contacts.last_inbound"))}</th>
                        </tr></thead>
                        <tbody>
                            <For each=move || shown.get() key=|c| c.fields.id children=move |c| view! {
                                <tr>
                                    <td data-label=move || i18n.t(key!("contacts.phone"))>{format!("+{}", c.phone)}</td>
                                    <td data-label=move || i18n.t(key!("contacts.name"))>{c.name.clone().unwrap_or_default()}</td>
                                    <td data-label=move || i18n.t(key!("contacts.tags"))>{c.fields.tags.iter().map(|t| view! { <span class="chip small">{t.clone()}</span> }).collect_view()}</td>
                                    <td data-label=move || i18n.t(key!("contacts.consent"))>{move || if c.fields.opted_out { i18n.t(key!("contacts.opted_out")) } else if c.fields.opted_in { i18n.t(key!("contacts.opted_in")) } else { "—".to_owned() }}</td>
                                    <td data-label=move || i18n.t(key!("contacts.last_inbound"))>{move || c.fields.last_inbound_at.map(|t| format_time(t, lang())).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            } />
                        </tbody>
                    </table>
                </div>
                <p class="muted">{move || i18n.t(key!("contacts.first_50"))}</p>
            </Show>
        </div>
    }
}

#[component]
fn OptOutCard() -> impl IntoView {
    let i18n = use_i18n();
    let keywords = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let saving = Mutation::new();
    leptos::task::spawn_local(async move {
        if let Ok(s) = client::opt_out().await {
            keywords.set(s.keywords.join(", "));
            confirmation.set(s.confirmation);
        }
    });
    let save = move |_| {
        let request = OptOutSettings {
            keywords: keywords.get_untracked().split([',', '，', '\n']).map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect(),
            confirmation: confirmation.get_untracked(),
        };
        saved.set(false);
        saving.run(async move { client::save_opt_out(&request).await }, move |_| saved.set(true));
    };
    view! {
        <details class="card form-card" id="opt-out">
            <summary><h2>{move || i18n.t(key!("contacts.opt_out"))}</h2></summary>
            <div class="stack">
                <p class="muted">{move || i18n.t(key!("contacts.opt_out_note"))}</p>
                <label class="field">
                    <span>{move || i18n.t(key!("contacts.keywords"))}</span>
                    <input id="opt-out-keywords" prop:value=keywords on:input=move |ev| keywords.set(event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span>{move || i18n.t(key!("contacts.confirmation"))}</span>
                    <textarea id="opt-out-confirmation" rows="2" prop:value=confirmation on:input=move |ev| confirmation.set(event_target_value(&ev))></textarea>
                </label>
                <button type="button" on:click=save>{move || i18n.t(key!("common.save"))}</button>
                <Show when=move || saved.get()>
                    <p class="ok-text">{move || i18n.t(key!("common.saved"))}</p>
                </Show>
                <ErrorNote error=saving.error() />
            </div>
        </details>
    }
}
