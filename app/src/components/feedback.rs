//! Calls started by a button or a form, and how their failures are shown: one [`Mutation`]
//! per action keeps whether it is running and its error (as the relay's error, translated when
//! shown, so switching language re-translates it); [`ErrorNote`] shows it. A page's reads go
//! through the same type with [`Mutation::load`], where the newest request wins instead of
//! the first.

use std::future::Future;

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::{use_i18n, Key};

/// One action's state: running or not, and the error of its last run.
#[derive(Clone, Copy)]
pub struct Mutation {
    pending: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    /// Which [`Mutation::load`] is the newest: only its answer is used.
    latest: StoredValue<u64>,
}

impl Default for Mutation {
    fn default() -> Self {
        Self::new()
    }
}

impl Mutation {
    pub fn new() -> Self {
        Mutation { pending: RwSignal::new(false), error: RwSignal::new(None), latest: StoredValue::new(0) }
    }

    /// Runs `call`; on success hands its answer to `done`, on failure keeps the error. A second
    /// run while one is in flight is ignored (a double click sends once).
    pub fn run<T: 'static>(self, call: impl Future<Output = Result<T, ApiError>> + 'static, done: impl FnOnce(T) + 'static) {
        if self.pending.get_untracked() {
            return;
        }
        self.pending.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let result = call.await;
            // The page that asked was closed meanwhile: nobody is left to tell (touching its
            // disposed signals would abort the whole console).
            if self.pending.try_set(false).is_some() {
                return;
            }
            match result {
                Ok(answer) => done(answer),
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Reads with `call` and hands the answer to `done`. Unlike [`Mutation::run`], a read asked
    /// for while another is in flight is not dropped: it runs, and the older one's answer (which
    /// may predate a change, or be for other filters) is thrown away.
    pub fn load<T: 'static>(self, call: impl Future<Output = Result<T, ApiError>> + 'static, done: impl FnOnce(T) + 'static) {
        let ticket = self.latest.get_value() + 1;
        self.latest.set_value(ticket);
        self.pending.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let result = call.await;
            // A newer read was asked for, or the page that asked was closed meanwhile.
            if self.latest.try_get_value() != Some(ticket) {
                return;
            }
            self.pending.set(false);
            match result {
                Ok(answer) => done(answer),
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Refuses before sending: something the browser can check itself is missing or wrong.
    pub fn refuse(self, why: Key) {
        self.error.set(Some(ApiError::Invalid(why)));
    }

    /// Shows an error that came from elsewhere (a call made outside `run`).
    pub fn fail(self, e: ApiError) {
        self.error.set(Some(e));
    }

    pub fn clear(self) {
        self.error.set(None);
    }

    pub fn pending(self) -> Signal<bool> {
        self.pending.into()
    }

    pub fn error(self) -> Signal<Option<ApiError>> {
        self.error.into()
    }
}

/// An action's error, in the reader's language; nothing when there is none.
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<ApiError>>, #[prop(optional)] id: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || error.with(Option::is_some)>
            <p class="error" role="alert" id=(!id.is_empty()).then_some(id)>{move || error.get().map(|e| e.text(i18n))}</p>
        </Show>
    }
}
