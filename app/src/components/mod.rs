//! Reusable pieces of the console.

pub mod feedback;
pub mod scope;
pub mod shell;
pub mod ticks;

/// A time as the user's language writes it: the time today, else the date.
pub fn format_time(ms: i64, lang_tag: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let now = js_sys::Date::new_0();
    let same_day = date.get_full_year() == now.get_full_year() && date.get_month() == now.get_month() && date.get_date() == now.get_date();
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    };
    if same_day {
        set("hour", "2-digit");
        set("minute", "2-digit");
        date.to_locale_time_string_with_options(lang_tag, &options).into()
    } else {
        set("month", "short");
        set("day", "numeric");
        date.to_locale_date_string(lang_tag, &options).into()
    }
}

/// A date and time as it reads on a wall clock in `zone` (an IANA name), in the user's language.
pub fn format_time_in(ms: i64, lang_tag: &str, zone: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    for (k, v) in [("timeZone", zone), ("month", "short"), ("day", "numeric"), ("hour", "2-digit"), ("minute", "2-digit")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    date.to_locale_string(lang_tag, &options).into()
}

/// A date and time in the browser's time zone, in the user's language.
pub fn format_date_time(ms: i64, lang_tag: &str) -> String {
    format_time_in(ms, lang_tag, &browser_time_zone().unwrap_or_else(|| "UTC".to_owned()))
}

/// The browser's own time zone (`Asia/Taipei`), if it says.
pub fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into()).ok()?.as_string()
}

/// Every time zone the browser knows, for pickers; at least UTC and the browser's own.
pub fn time_zones() -> Vec<String> {
    use wasm_bindgen::JsCast;
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok();
    let listed = intl.as_ref().and_then(|intl| {
        let f = js_sys::Reflect::get(intl, &"supportedValuesOf".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        let all = f.call1(intl, &"timeZone".into()).ok()?.dyn_into::<js_sys::Array>().ok()?;
        Some(all.iter().filter_map(|z| z.as_string()).collect::<Vec<String>>())
    });
    let mut zones = listed.unwrap_or_default();
    zones.extend(browser_time_zone());
    zones.push("UTC".to_owned());
    zones.sort();
    zones.dedup();
    zones
}

/// Waits `ms` milliseconds (a browser timer).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
