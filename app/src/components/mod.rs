//! Reusable pieces of the console.

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
