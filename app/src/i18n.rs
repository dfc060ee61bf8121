//! Every word the console shows, in English and Traditional Chinese. The choice is remembered
//! in the browser.

use leptos::prelude::*;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhHant,
}

impl Lang {
    /// BCP 47 tag, for `<html lang>` and date formatting.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHant => "zh-Hant",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag {
            "en" => Some(Lang::En),
            "zh-Hant" => Some(Lang::ZhHant),
            _ => None,
        }
    }
}

/// (key, English, Traditional Chinese).
const STRINGS: &[(&str, &str, &str)] = &[
    ("app.name", "Switchboard", "Switchboard 總機"),
    ("nav.inbox", "Inbox", "收件匣"),
    ("nav.numbers", "Numbers", "號碼"),
    ("nav.sign_out", "Sign out", "登出"),
    ("lang.switch", "中文", "English"),
    ("lang.switch_label", "Switch to Traditional Chinese", "切換至英文"),
    ("login.title", "Sign in", "登入"),
    ("login.email", "Email", "電郵"),
    ("login.password", "Password", "密碼"),
    ("login.submit", "Sign in", "登入"),
    ("login.busy", "Signing in…", "登入中…"),
    ("login.failed", "That email and password do not match.", "電郵或密碼不正確。"),
    ("login.locked", "Too many failed sign-ins for this email. Wait 15 minutes and try again.", "此電郵登入失敗次數過多，請等候 15 分鐘後再試。"),
    ("error.network", "Cannot reach the server. Check your connection and try again.", "無法連線到伺服器，請檢查網絡後再試。"),
    ("error.generic", "Something went wrong. Please try again.", "發生錯誤，請再試一次。"),
    ("conn.live", "Live", "即時"),
    ("conn.connecting", "Connecting…", "連線中…"),
    ("conn.offline", "Reconnecting…", "重新連線中…"),
    ("inbox.title", "Inbox", "收件匣"),
    ("inbox.empty", "No conversations yet. New messages from customers will appear here as they arrive.", "暫時沒有對話。客戶傳來的新訊息會即時顯示在這裡。"),
    ("inbox.loading", "Loading conversations…", "載入對話中…"),
    ("inbox.pick", "Choose a conversation to read and reply.", "請選擇一個對話來閱讀和回覆。"),
    ("inbox.all_numbers", "All numbers", "所有號碼"),
    ("inbox.unread", "unread", "未讀"),
    ("inbox.view.mine", "Mine", "我的"),
    ("inbox.view.unassigned", "Unassigned", "未分派"),
    ("inbox.view.all", "All", "全部"),
    ("inbox.search", "Search name, phone or message…", "搜尋姓名、電話或訊息…"),
    ("inbox.filter.status", "Status", "狀態"),
    ("inbox.filter.any_status", "Any status", "所有狀態"),
    ("inbox.filter.any_label", "Any label", "所有標籤"),
    ("inbox.no_match", "No conversation matches your search.", "沒有符合搜尋的對話。"),
    ("inbox.none_here", "No conversations in this view. Try another tab or status.", "此檢視沒有對話，請試其他分頁或狀態。"),
    ("inbox.bulk.selected", "{n} selected", "已選 {n} 個"),
    ("inbox.bulk.choose", "Move to agent…", "移交給客服…"),
    ("inbox.bulk.move", "Move", "移交"),
    ("inbox.bulk.pick", "Select this conversation", "選取此對話"),
    ("inbox.bulk.done", "{n} conversations moved.", "已移交 {n} 個對話。"),
    ("conv.status.open", "Open", "處理中"),
    ("conv.status.pending", "Waiting on customer", "等待客戶"),
    ("conv.status.resolved", "Resolved", "已解決"),
    ("conv.status.snoozed", "Snoozed", "暫緩"),
    ("conv.resolve", "Resolve", "標示為已解決"),
    ("conv.mark_pending", "Waiting on customer", "等待客戶回覆"),
    ("conv.reopen", "Reopen", "重新開啟"),
    ("conv.snooze", "Snooze…", "暫緩…"),
    ("conv.snooze.hour", "for 1 hour", "1 小時"),
    ("conv.snooze.hours4", "for 4 hours", "4 小時"),
    ("conv.snooze.day", "until tomorrow", "至明天"),
    ("conv.snooze.week", "for a week", "1 星期"),
    ("conv.assign_to", "Assign to…", "分派給…"),
    ("conv.mode.reply", "Reply", "回覆"),
    ("conv.mode.note", "Note", "內部備註"),
    ("conv.note", "Internal note", "內部備註"),
    ("conv.note_placeholder", "A note only colleagues see — type @ to mention someone", "只有同事看到的備註 — 輸入 @ 提及同事"),
    ("conv.add_note", "Add note", "加入備註"),
    ("activity.status", "{author} marked it {status}", "{author} 將狀態改為「{status}」"),
    ("activity.snooze_ended", "The snooze ended; open again", "暫緩結束，重新開啟"),
    ("activity.reserved", "Reserved for {agent} by the away message", "離線訊息已為 {agent} 預留此對話"),
    ("activity.opening", "Assigned to {agent} at the opening", "開店時分派給 {agent}"),
    ("activity.arrival", "Assigned to {agent} automatically", "自動分派給 {agent}"),
    ("activity.released", "Moved to {agent}: the previous agent went offline", "前一位客服已離線，改由 {agent} 處理"),
    ("activity.released_queue", "Back to the queue: the agent went offline", "客服已離線，退回佇列"),
    ("activity.assigned", "{author} assigned it to {agent}", "{author} 分派給 {agent}"),
    ("activity.queue", "{author} sent it back to the queue", "{author} 退回佇列"),
    ("duty.on", "On duty", "當值中"),
    ("duty.away", "Away", "暫離"),
    ("duty.explain", "While you are away, new conversations go to colleagues, and those waiting on you move after a short grace period.", "暫離期間，新對話會分派給同事；等待你回覆的對話會在短暫寬限後轉交同事。"),
    ("mention.says", "{who} mentioned you:", "{who} 提及了你："),
    ("mention.open", "Open", "開啟"),
    ("canned.title", "Canned replies", "快速回覆"),
    ("canned.intro", "Agents type / and the shortcut in a reply to insert one. Placeholders: {contact.name}, {contact.phone}, {agent.name}, {agent.code}.", "客服在回覆框輸入 / 加捷徑即可插入。可用佔位符：{contact.name}、{contact.phone}、{agent.name}、{agent.code}。"),
    ("canned.empty", "No canned replies yet. Add the answers your team types most often.", "暫時沒有快速回覆。請加入團隊最常輸入的答覆。"),
    ("canned.shortcut", "Shortcut", "捷徑"),
    ("canned.text", "Reply", "回覆內容"),
    ("canned.numbers", "Offered on", "適用號碼"),
    ("canned.every_number", "Every number", "所有號碼"),
    ("canned.add", "Add canned reply", "新增快速回覆"),
    ("canned.saved", "Saved.", "已儲存。"),
    ("error.code.invalid_canned", "This canned reply cannot be saved: the shortcut is 1 to 32 letters or digits without spaces, the reply 1 to 4,096 characters, and only the listed placeholders may be used.", "無法儲存此快速回覆：捷徑須為 1 至 32 個字母或數字（不可有空格），回覆為 1 至 4,096 字，且只可使用列出的佔位符。"),
    ("error.code.invalid_note", "A note has 1 to 4,096 characters.", "備註須為 1 至 4,096 字。"),
    ("error.code.invalid_mention", "You can only mention colleagues who work on this number.", "只可提及負責此號碼的同事。"),
    ("error.code.invalid_snooze", "Choose a time in the future, within a year, to snooze until.", "請選擇一年內的未來時間作為暫緩期限。"),
    ("error.code.invalid_selection", "Choose 1 to 1,000 conversations.", "請選擇 1 至 1,000 個對話。"),
    ("error.code.invalid_search", "Search for 1 to 100 characters.", "搜尋字詞須為 1 至 100 字。"),
    ("conv.back", "Back", "返回"),
    ("conv.loading", "Loading messages…", "載入訊息中…"),
    ("conv.reply_placeholder", "Type a reply…", "輸入回覆…"),
    ("conv.send", "Send", "傳送"),
    ("conv.automatic", "Automatic reply", "自動回覆"),
    ("conv.sending", "Sending…", "傳送中…"),
    ("conv.window_closed", "The customer has not written in 24 hours. WhatsApp only allows a template message now.", "客戶已超過 24 小時未有來訊，WhatsApp 現時只容許傳送範本訊息。"),
    ("conv.not_found", "This conversation does not exist or was removed.", "此對話不存在或已被移除。"),
    ("status.pending", "Waiting to send", "等待傳送"),
    ("status.accepted", "Accepted by WhatsApp", "WhatsApp 已接收"),
    ("status.sent", "Sent", "已傳送"),
    ("status.delivered", "Delivered", "已送達"),
    ("status.read", "Read", "已讀"),
    ("status.failed", "Not delivered", "傳送失敗"),
    ("numbers.title", "Business numbers", "商業號碼"),
    ("numbers.empty", "No business numbers are connected yet.", "尚未連接任何商業號碼。"),
    ("numbers.loading", "Loading numbers…", "載入號碼中…"),
    ("numbers.quality", "Quality", "品質評級"),
    ("numbers.limit", "Messaging limit", "訊息上限"),
    ("numbers.per_day", "customers / 24 h", "位客戶 / 24 小時"),
    ("numbers.unlimited", "Unlimited", "無上限"),
    ("numbers.throughput", "Speed", "傳送速度"),
    ("numbers.per_second", "messages / second", "則訊息 / 秒"),
    ("numbers.connected", "Connected", "已連接"),
    ("numbers.disconnected", "Not connected", "未連接"),
    ("numbers.unread", "Unread", "未讀"),
    ("numbers.last_webhook", "Last message from WhatsApp", "最近收到 WhatsApp 訊息"),
    ("numbers.never", "never", "從未"),
    ("numbers.time_zone", "Time zone", "時區"),
    ("numbers.time_zone_help", "Broadcasts scheduled for a time of day start at that time in this time zone.", "預約群發會在此時區的指定時間開始。"),
    ("quality.GREEN", "High", "高"),
    ("quality.YELLOW", "Medium", "中"),
    ("quality.RED", "Low", "低"),
    ("quality.NA", "Not rated yet", "尚未評級"),
    ("quality.UNKNOWN", "Unknown", "未知"),
    ("error.signed_out", "Your session ended. Please sign in again.", "登入已逾時，請重新登入。"),
    ("nav.supervisor", "Live view", "即時概況"),
    ("nav.agents", "Agents", "客服人員"),
    ("nav.roles", "Roles", "角色權限"),
    ("nav.audit", "Audit log", "操作紀錄"),
    ("nav.export", "Export", "匯出"),
    ("common.save", "Save", "儲存"),
    ("common.saving", "Saving…", "儲存中…"),
    ("common.cancel", "Cancel", "取消"),
    ("common.delete", "Delete", "刪除"),
    ("common.copy", "Copy", "複製"),
    ("common.loading", "Loading…", "載入中…"),
    ("common.all_numbers", "All numbers", "所有號碼"),
    ("common.only_these", "Only these numbers:", "只限以下號碼："),
    ("common.none", "—", "—"),
    ("common.load_more", "Show older", "顯示較舊紀錄"),
    ("perm.reply", "Reply to customers", "回覆客戶"),
    ("perm.send_templates", "Send templates", "傳送範本訊息"),
    ("perm.delete_messages", "Delete messages", "刪除訊息"),
    ("perm.export_conversations", "Export conversations", "匯出對話"),
    ("perm.broadcast", "Send broadcasts", "群發訊息"),
    ("perm.view_reports", "View reports and the audit log", "查看報表及操作紀錄"),
    ("perm.manage_contacts", "Manage contacts", "管理聯絡人"),
    ("perm.manage_groups", "Manage groups", "管理群組"),
    ("perm.manage_numbers", "Manage business numbers", "管理商業號碼"),
    ("perm.manage_agents", "Manage agents and roles", "管理客服人員及角色"),
    ("perm.see_full_phone_numbers", "See full phone numbers", "查看完整電話號碼"),
    ("role.Administrator", "Administrator", "管理員"),
    ("role.Supervisor", "Supervisor", "主管"),
    ("role.Agent", "Agent", "客服"),
    ("role.Analyst", "Analyst", "分析員"),
    ("agents.title", "Agents", "客服人員"),
    ("agents.add", "Add agents", "新增客服人員"),
    ("agents.emails", "Email addresses — one per line, or paste a CSV with an “email” column (and “name”)", "電郵地址 — 每行一個，或貼上含「email」欄（及「name」欄）的 CSV"),
    ("agents.role", "Role", "角色"),
    ("agents.numbers", "Numbers they work on", "負責的號碼"),
    ("agents.assigned_only", "Sees only conversations assigned to them", "只可查看分派給自己的對話"),
    ("agents.create", "Create and get links", "建立並取得連結"),
    ("agents.creating", "Creating…", "建立中…"),
    ("agents.links", "Send each person their link. It lets them choose a password once and works for 7 days.", "請把連結分別傳給每位同事。連結只可使用一次，有效期 7 日，用來設定密碼。"),
    ("agents.empty", "No agents yet.", "尚未有客服人員。"),
    ("agents.name", "Name", "名稱"),
    ("agents.status", "Status", "狀態"),
    ("agents.active", "Active", "使用中"),
    ("agents.disabled", "Disabled", "已停用"),
    ("agents.invited", "Waiting for password", "等待設定密碼"),
    ("agents.disable", "Disable", "停用"),
    ("agents.bulk.pick", "Select this agent", "選取此客服人員"),
    ("agents.bulk.keep_role", "Role: keep as is", "角色：保持不變"),
    ("agents.bulk.keep_capacity", "Most open: keep", "上限：保持不變"),
    ("agents.bulk.apply", "Apply to selected", "套用到已選"),
    ("agents.bulk.apply_numbers", "Give the selected these numbers", "將這些號碼套用到已選"),
    ("agents.bulk.done", "{n} agents changed.", "已更改 {n} 位客服人員。"),
    ("agents.enable", "Enable", "重新啟用"),
    ("agents.reset", "New password link", "重設密碼連結"),
    ("agents.edit_numbers", "Change numbers", "更改號碼"),
    ("agents.confirm_disable", "Disable this agent? They are signed out at once and their open conversations go back to the queue.", "確定停用此客服人員？對方會即時被登出，其處理中的對話會退回待分派佇列。"),
    ("agents.you", "you", "你"),
    ("roles.title", "Roles and permissions", "角色及權限"),
    ("roles.builtin", "Built in", "系統內置"),
    ("roles.custom", "Custom", "自訂"),
    ("roles.members", "agents", "位客服"),
    ("roles.new", "New role", "新增角色"),
    ("roles.name", "Role name", "角色名稱"),
    ("roles.create", "Create role", "建立角色"),
    ("roles.confirm_delete", "Delete this role?", "確定刪除此角色？"),
    ("audit.title", "Audit log", "操作紀錄"),
    ("audit.search", "Search who, what or which item…", "搜尋人員、操作或項目…"),
    ("audit.all", "All actions", "所有操作"),
    ("audit.kind.agent.", "Agents", "客服人員"),
    ("audit.kind.role.", "Roles", "角色"),
    ("audit.kind.number.", "Numbers", "號碼"),
    ("audit.kind.conversation.", "Conversations", "對話"),
    ("audit.kind.export.", "Exports", "匯出"),
    ("audit.cli", "Command line", "命令列"),
    ("audit.link", "Set-password link", "設定密碼連結"),
    ("audit.empty", "Nothing recorded matches.", "沒有符合的紀錄。"),
    ("audit.when", "When", "時間"),
    ("audit.who", "Who", "人員"),
    ("audit.what", "What", "操作"),
    ("audit.item", "Item", "項目"),
    ("audit.changes", "Changes", "變更"),
    ("action.agent.create", "Created agent", "新增客服人員"),
    ("action.agent.update", "Changed agent", "更改客服人員"),
    ("action.agent.disable", "Disabled agent", "停用客服人員"),
    ("action.agent.enable", "Enabled agent", "啟用客服人員"),
    ("action.agent.reset_password", "Reset password", "重設密碼"),
    ("action.agent.set_password", "Set own password", "設定密碼"),
    ("action.agent.upsert", "Saved user (command line)", "儲存使用者（命令列）"),
    ("action.role.create", "Created role", "新增角色"),
    ("action.role.update", "Changed role", "更改角色"),
    ("action.role.delete", "Deleted role", "刪除角色"),
    ("action.number.connect", "Connected number", "連接號碼"),
    ("action.number.update", "Updated number", "更新號碼"),
    ("action.number.disable", "Disabled number", "停用號碼"),
    ("action.number.enable", "Enabled number", "啟用號碼"),
    ("action.number.time_zone", "Changed time zone", "變更時區"),
    ("action.number.remove", "Removed number", "移除號碼"),
    ("action.conversation.assign", "Assigned conversation", "分派對話"),
    ("action.export.conversations", "Exported conversations", "匯出對話"),
    ("sup.title", "Live view", "即時概況"),
    ("sup.numbers", "By number", "按號碼"),
    ("sup.agents", "By agent", "按客服人員"),
    ("sup.online", "Online", "在線"),
    ("sup.offline", "Offline", "離線"),
    ("sup.open", "Open", "處理中"),
    ("sup.waiting", "Waiting", "等待回覆"),
    ("sup.longest", "Longest wait", "最長等待"),
    ("sup.handled", "Replies, last hour", "過去 1 小時回覆"),
    ("sup.first_response", "First response today (median)", "今日首次回覆（中位數）"),
    ("sup.updated", "Updated", "更新於"),
    ("sup.empty", "No numbers in your scope.", "你的範圍內沒有號碼。"),
    ("sup.backlog", "Updates from WhatsApp waiting to be read: {waiting} (the oldest for {age}).", "等候處理的 WhatsApp 更新：{waiting} 項（最早的已等 {age}）。"),
    ("sup.backlog_none", "Every update from WhatsApp has been read.", "WhatsApp 的所有更新均已處理。"),
    ("lag.banner", "Catching up with WhatsApp: {seconds} s behind, {waiting} updates waiting. Nothing is lost; the inbox fills in as they are read.", "正在追上 WhatsApp 的更新：落後 {seconds} 秒，尚有 {waiting} 項更新等候處理。不會遺失任何訊息，收件匣會陸續更新。"),
    ("export.title", "Export conversations", "匯出對話"),
    ("export.number", "Number", "號碼"),
    ("export.agent", "Assigned agent", "負責客服"),
    ("export.anyone", "Anyone", "任何人"),
    ("export.from", "From", "由"),
    ("export.label", "Label", "標籤"),
    ("export.any_label", "Any label", "任何標籤"),
    ("labels.add", "+ Add label", "+ 新增標籤"),
    ("action.conversation.labels", "Changed labels", "更改標籤"),
    ("export.to", "To (inclusive)", "至（包括當日）"),
    ("export.format", "Format", "格式"),
    ("export.csv", "CSV (Excel, Google Sheets)", "CSV（Excel、Google 試算表）"),
    ("export.json", "JSON (for developers)", "JSON（供開發人員）"),
    ("export.download", "Download", "下載"),
    ("export.note", "The file is prepared while it downloads, so even 100,000 messages start at once. Every export is recorded in the audit log.", "檔案會一邊準備一邊下載，即使有十萬則訊息也會立即開始。每次匯出都會記錄在操作紀錄中。"),
    ("numbers.connect", "Connect a number", "連接號碼"),
    ("numbers.connect_help", "Copy these from Meta's WhatsApp Manager and your app's settings. We check them with WhatsApp before saving; the token and secret are stored encrypted and never shown again.", "請從 Meta 的 WhatsApp 管理工具及應用程式設定複製以下資料。儲存前會先向 WhatsApp 核對；權杖及密鑰會加密儲存，之後不會再顯示。"),
    ("numbers.waba_id", "WhatsApp Business Account ID", "WhatsApp 商業帳戶 ID"),
    ("numbers.phone_number_id", "Phone number ID", "電話號碼 ID"),
    ("numbers.access_token", "Access token", "存取權杖"),
    ("numbers.app_secret", "App secret", "應用程式密鑰"),
    ("numbers.verify_token", "Webhook verify token (optional)", "Webhook 驗證權杖（選填）"),
    ("numbers.connecting", "Checking with WhatsApp…", "正在向 WhatsApp 核對…"),
    ("numbers.connected_ok", "Connected.", "已連接。"),
    ("numbers.disable", "Pause sending", "暫停傳送"),
    ("numbers.enable", "Resume sending", "恢復傳送"),
    ("numbers.remove", "Remove", "移除"),
    ("numbers.paused", "Sending paused — incoming messages are still received", "已暫停傳送 — 仍會接收來訊"),
    ("numbers.confirm_remove", "Remove this number? Its conversations stay; its access token is deleted.", "確定移除此號碼？對話紀錄會保留，存取權杖會被刪除。"),
    ("conv.assigned_to_me", "Assigned to you", "已分派給你"),
    ("conv.assigned_to", "Assigned to", "已分派給"),
    ("conv.in_queue", "Waiting in the queue", "待分派"),
    ("conv.deleted", "This message was deleted.", "此訊息已被刪除。"),
    ("conv.confirm_delete", "Delete this message from the record? Its text cannot be brought back. (It is not removed from the customer's phone.)", "確定從紀錄中刪除此訊息？內容將無法復原。（不會從客戶手機上刪除。）"),
    ("action.message.delete", "Deleted message", "刪除訊息"),
    ("conv.take_over", "Take over", "接手"),
    ("conv.release", "Back to queue", "退回佇列"),
    ("conv.read_only", "Your role can read this conversation but not reply.", "你的角色只可閱讀此對話，不能回覆。"),
    ("setpw.title", "Choose your password", "設定你的密碼"),
    ("setpw.password", "New password (at least 10 characters)", "新密碼（最少 10 個字元）"),
    ("setpw.confirm", "Type it again", "再輸入一次"),
    ("setpw.mismatch", "The two passwords are not the same.", "兩次輸入的密碼不相同。"),
    ("setpw.short", "Use at least 10 characters.", "請使用最少 10 個字元。"),
    ("setpw.submit", "Set password", "設定密碼"),
    ("setpw.done", "Your password is set. You can sign in now.", "密碼已設定，現在可以登入。"),
    ("setpw.no_token", "This page needs the link your administrator sent you.", "此頁面需要使用管理員傳給你的連結開啟。"),
    ("setpw.go_sign_in", "Go to sign in", "前往登入"),
    ("nav.contacts", "Contacts", "聯絡人"),
    ("nav.broadcasts", "Broadcasts", "群發訊息"),
    ("common.saved", "Saved.", "已儲存。"),
    ("contacts.title", "Contacts", "聯絡人"),
    ("contacts.export", "Export CSV", "匯出 CSV"),
    ("contacts.import", "Import contacts from a CSV file", "從 CSV 檔案匯入聯絡人"),
    ("contacts.file", "CSV file (first line: column names)", "CSV 檔案（第一行為欄位名稱）"),
    ("contacts.unreadable", "This file could not be read.", "無法讀取此檔案。"),
    ("contacts.need_phone", "Choose the column with phone numbers.", "請選擇電話號碼所在的欄位。"),
    ("contacts.rows", "{n} rows in {file}. Tell us what each column holds:", "{file} 共有 {n} 行資料。請指明每一欄的內容："),
    ("contacts.col_phone", "Phone number column", "電話號碼欄"),
    ("contacts.col_name", "Name column", "姓名欄"),
    ("contacts.col_tags", "Tags column (separated by ; or ,)", "標籤欄（以 ; 或 , 分隔）"),
    ("contacts.col_opted_in", "Marketing consent column (yes/no)", "同意接收推廣訊息欄（是/否）"),
    ("contacts.none", "(none)", "（沒有）"),
    ("contacts.country", "Country for numbers without +country code", "未寫國家碼的號碼屬於"),
    ("country.HK", "Hong Kong (+852)", "香港 (+852)"),
    ("country.TW", "Taiwan (+886)", "台灣 (+886)"),
    ("country.MO", "Macau (+853)", "澳門 (+853)"),
    ("country.CN", "Mainland China (+86)", "中國內地 (+86)"),
    ("country.SG", "Singapore (+65)", "新加坡 (+65)"),
    ("country.MY", "Malaysia (+60)", "馬來西亞 (+60)"),
    ("country.JP", "Japan (+81)", "日本 (+81)"),
    ("country.US", "United States (+1)", "美國 (+1)"),
    ("country.GB", "United Kingdom (+44)", "英國 (+44)"),
    ("country.AU", "Australia (+61)", "澳洲 (+61)"),
    ("contacts.add_tags", "Add these tags to everyone imported", "為所有匯入的聯絡人加上標籤"),
    ("contacts.attributes", "Other columns: keep as", "其他欄位：儲存為"),
    ("contacts.skip", "Do not import", "不匯入"),
    ("contacts.kind_text", "Text", "文字"),
    ("contacts.kind_number", "Number", "數字"),
    ("contacts.kind_date", "Date (YYYY-MM-DD)", "日期（YYYY-MM-DD）"),
    ("contacts.kind_bool", "Yes / no", "是 / 否"),
    ("contacts.start_import", "Import", "開始匯入"),
    ("contacts.importing", "Importing…", "匯入中…"),
    ("contacts.reading", "Checking rows: {done} of {total}", "檢查資料中：{done} / {total}"),
    ("contacts.saving", "Saving…", "儲存中…"),
    ("contacts.result", "Done: {created} new, {merged} merged into existing contacts, {rejected} not imported.", "完成：新增 {created} 位，合併 {merged} 位至現有聯絡人，{rejected} 行未能匯入。"),
    ("contacts.rejected_download", "Download the rows not imported, with reasons", "下載未能匯入的資料及原因"),
    ("contacts.segment", "Find contacts (segment)", "篩選聯絡人（分群）"),
    ("contacts.segment_label", "Conditions", "條件"),
    ("contacts.segment_help_title", "How to write conditions", "條件寫法"),
    ("contacts.segment_help", "tag vip                        has the tag vip\ntags any (vip, gold)           has one of them   (all / none)\ncity = \"Hong Kong\"             text   = != contains\nspend >= 500                   number = != < <= > >=\nlast_purchase within 30 days   a date in the last 30 days\nlast_inbound before 90 days    wrote to us more than 90 days ago\nopted_in   opted_out           marketing consent\nreplied 12                     replied to broadcast 12\nnot …   … and …   … or …   ( … )", "tag vip                        有 vip 標籤\ntags any (vip, gold)           有其中一個標籤（all 全部 / none 沒有）\ncity = \"Hong Kong\"             文字   = != contains（包含）\nspend >= 500                   數字   = != < <= > >=\nlast_purchase within 30 days   日期在最近 30 日內\nlast_inbound before 90 days    超過 90 日沒有來訊\nopted_in   opted_out           同意 / 拒絕推廣訊息\nreplied 12                     曾回覆第 12 號群發\nnot …   … and …   … or …   ( … )"),
    ("contacts.matches", "{n} of {total} contacts match", "{total} 位聯絡人中有 {n} 位符合"),
    ("contacts.counted_in", " · counted in {ms} ms", " · 計算用時 {ms} 毫秒"),
    ("contacts.all", "{total} contacts", "共 {total} 位聯絡人"),
    ("contacts.segment_name", "Name for this segment", "分群名稱"),
    ("contacts.save_segment", "Save segment", "儲存分群"),
    ("contacts.segment_saved", "Saved as “{name}”.", "已儲存為「{name}」。"),
    ("contacts.empty", "No contacts yet. Import a CSV file, or wait for customers to write in.", "尚未有聯絡人。請匯入 CSV 檔案，或等候客戶來訊。"),
    ("contacts.phone", "Phone", "電話"),
    ("contacts.name", "Name", "姓名"),
    ("contacts.tags", "Tags", "標籤"),
    ("contacts.consent", "Marketing", "推廣訊息"),
    ("contacts.opted_in", "Agreed", "已同意"),
    ("contacts.opted_out", "Opted out", "已拒絕"),
    ("contacts.last_inbound", "Last wrote to us", "最近來訊"),
    ("contacts.first_50", "Showing the first 50 that match.", "只顯示首 50 位符合的聯絡人。"),
    ("contacts.opt_out", "Opt-out keywords", "取消訂閱關鍵字"),
    ("contacts.opt_out_note", "A customer who sends one of these words on any number gets no more marketing messages, and one confirmation.", "客戶在任何號碼傳送以下任何一個字詞，便不會再收到推廣訊息，並會收到一次確認。"),
    ("contacts.keywords", "Keywords (separated by commas)", "關鍵字（以逗號分隔）"),
    ("contacts.confirmation", "Confirmation sent once", "確認訊息（只傳送一次）"),
    ("broadcast.title", "Broadcasts", "群發訊息"),
    ("broadcast.empty", "No broadcasts yet.", "尚未有群發訊息。"),
    ("broadcast.new", "New broadcast", "新增群發"),
    ("broadcast.send_again", "Send again to those who did not read or failed for a passing reason", "再次傳送給未讀或暫時失敗的人"),
    ("broadcast.name", "Name (only you see it)", "名稱（只供內部識別）"),
    ("broadcast.numbers", "Send from", "由以下號碼傳送"),
    ("broadcast.numbers_note", "Each contact hears from the chosen number they talk to; others are shared out evenly.", "每位聯絡人會由其曾聯絡的號碼收到訊息；其餘平均分配。"),
    ("broadcast.template", "Approved template", "已批核範本"),
    ("broadcast.choose_template", "Choose a template", "選擇範本"),
    ("broadcast.need_template", "Choose a template.", "請選擇範本。"),
    ("broadcast.value", "Value {n}", "第 {n} 個內容"),
    ("broadcast.values_note", "Use {name}, {phone} or any attribute, e.g. {city}, to fill in each contact's own value.", "可用 {name}、{phone} 或任何欄位（例如 {city}）填入每位聯絡人的資料。"),
    ("broadcast.image", "Picture link for the header", "標題圖片連結"),
    ("broadcast.preview", "Preview", "預覽"),
    ("broadcast.picture", "Picture", "圖片"),
    ("broadcast.audience", "Audience", "對象"),
    ("broadcast.by_segment", "Contacts matching a segment", "符合分群條件的聯絡人"),
    ("broadcast.by_list", "A list of phone numbers", "電話號碼清單"),
    ("broadcast.when", "Start at (leave empty to start now)", "開始時間（留空即時開始）"),
    ("broadcast.when_note", "Each number starts at this time in its own time zone ({zones}); set a number's time zone on the Numbers page.", "每個號碼會在其所在時區的此時間開始（{zones}）；號碼的時區可在「商業號碼」頁設定。"),
    ("broadcast.cap", "Limit marketing messages per contact", "限制每位聯絡人收到的推廣訊息數量"),
    ("broadcast.cap_in", "in", "則，於"),
    ("broadcast.cap_days", "days", "日內"),
    ("broadcast.send_now", "Send now", "立即傳送"),
    ("broadcast.schedule", "Schedule", "預約傳送"),
    ("broadcast.progress_line", "{done} of {total} handled", "已處理 {done} / {total}"),
    ("broadcast.meta", "Template {template} · starts {when}", "範本 {template} · 開始時間 {when}"),
    ("broadcast.starts", "Starts {when}", "{when} 開始"),
    ("broadcast.paused_low_quality", "Paused automatically: WhatsApp rated the quality of {number} as low. Check the number in WhatsApp Manager before you resume.", "已自動暫停：WhatsApp 將 {number} 的品質評為「低」。請先在 WhatsApp 管理工具檢查此號碼，再恢復傳送。"),
    ("templates.title", "Message templates", "訊息範本"),
    ("templates.sync", "Sync from WhatsApp", "從 WhatsApp 同步"),
    ("templates.syncing", "Syncing…", "同步中…"),
    ("templates.note", "Templates are created and reviewed in Meta's WhatsApp Manager; only approved ones can be sent.", "範本在 Meta 的 WhatsApp 管理工具建立及審核；只有已批核的範本可以傳送。"),
    ("templates.empty", "No templates yet. Create them in WhatsApp Manager, then sync.", "尚未有範本。請先在 WhatsApp 管理工具建立，然後同步。"),
    ("templates.synced", "Last synced {when}", "上次同步：{when}"),
    ("templates.name", "Template", "範本"),
    ("templates.category", "Category", "類別"),
    ("templates.status", "Review", "審核狀態"),
    ("templates.body", "Text", "內容"),
    ("templates.category.MARKETING", "Marketing", "推廣"),
    ("templates.category.UTILITY", "Utility", "通知"),
    ("templates.category.AUTHENTICATION", "Sign-in code", "登入驗證碼"),
    ("templates.status.APPROVED", "Approved", "已批核"),
    ("templates.status.PENDING", "In review", "審核中"),
    ("templates.status.IN_APPEAL", "Appealed", "上訴中"),
    ("templates.status.REJECTED", "Rejected", "已拒絕"),
    ("templates.status.PAUSED", "Paused by Meta", "已被 Meta 暫停"),
    ("templates.status.DISABLED", "Disabled by Meta", "已被 Meta 停用"),
    ("broadcast.skipped", "Skipped", "略過"),
    ("broadcast.waiting", "Waiting to send", "等待傳送"),
    ("broadcast.opted_out", "Opted out after", "其後取消訂閱"),
    ("broadcast.funnel", "Outcome of the broadcast", "群發結果"),
    ("broadcast.accepted", "Sent", "已傳送"),
    ("broadcast.delivered", "Delivered", "已送達"),
    ("broadcast.read", "Read", "已讀"),
    ("broadcast.replied", "Replied within 24 h", "24 小時內回覆"),
    ("broadcast.failed", "Failed", "失敗"),
    ("broadcast.delivery_rate", "Delivered", "送達率"),
    ("broadcast.read_rate", "Read", "閱讀率"),
    ("broadcast.reply_rate", "Replied", "回覆率"),
    ("broadcast.failure_rate", "Failed", "失敗率"),
    ("broadcast.limit_wait", "{n} wait for the messaging limit: WhatsApp lets this account reach only so many people a day. They go out from {when}.", "有 {n} 則正等候每日傳送上限：WhatsApp 限制此帳戶每日可聯絡的人數。將於 {when} 起繼續傳送。"),
    ("broadcast.failed_by_code", "Failed by WhatsApp code", "失敗原因（WhatsApp 代碼）"),
    ("broadcast.pause", "Pause", "暫停"),
    ("broadcast.resume", "Resume", "繼續"),
    ("broadcast.cancel", "Cancel the rest", "取消餘下傳送"),
    ("broadcast.confirm_cancel", "Cancel this broadcast? Messages already sent stay sent; the rest will not go out.", "確定取消此群發？已傳送的訊息不受影響，餘下的不會再傳送。"),
    ("broadcast.export", "Download CSV", "下載 CSV"),
    ("broadcast.recipients", "Recipients", "收件人"),
    ("broadcast.no_recipients", "Nobody here.", "沒有相關收件人。"),
    ("broadcast.outcome", "Outcome", "結果"),
    ("broadcast.when_sent", "Sent at", "傳送時間"),
    ("broadcast.state.scheduled", "Scheduled", "已預約"),
    ("broadcast.state.running", "Sending", "傳送中"),
    ("broadcast.state.paused", "Paused", "已暫停"),
    ("broadcast.state.cancelled", "Cancelled", "已取消"),
    ("broadcast.state.done", "Finished", "已完成"),
    ("broadcast.state.queued", "Waiting to send", "等待傳送"),
    ("broadcast.state.accepted", "Sent", "已傳送"),
    ("broadcast.state.skipped", "Skipped", "略過"),
    ("broadcast.state.failed", "Failed", "失敗"),
    ("broadcast.filter.all", "Everyone", "全部"),
    ("broadcast.filter.accepted", "Sent", "已傳送"),
    ("broadcast.filter.delivered", "Delivered", "已送達"),
    ("broadcast.filter.read", "Read", "已讀"),
    ("broadcast.filter.replied", "Replied", "已回覆"),
    ("broadcast.filter.failed", "Failed", "失敗"),
    ("broadcast.filter.skipped", "Skipped", "略過"),
    ("broadcast.filter.queued", "Waiting", "等待中"),
    ("broadcast.filter.cancelled", "Cancelled", "已取消"),
    ("skip.opted_out", "Opted out", "已取消訂閱"),
    ("skip.not_opted_in", "No marketing consent", "未同意接收推廣"),
    ("skip.frequency_cap", "Over the frequency limit", "超出次數限制"),
    ("skip.missing_value", "Missing a value", "缺少資料"),
    ("skip.invalid_number", "Not a phone number", "電話號碼無效"),
    // The relay's error codes, for readers of another language than the relay's messages.
    ("error.code.unauthorized", "Please sign in again.", "請重新登入。"),
    ("error.code.invalid_hours", "These business hours cannot be saved: each day must close after it opens, without overlapping hours, and holidays must be real dates (YYYY-MM-DD).", "無法儲存營業時間：每天的結束時間須在開始時間之後，時段不可重疊，假期須為正確日期（YYYY-MM-DD）。"),
    ("error.code.invalid_rule", "This rule cannot be saved: it needs a name, a reply (at most 4,096 characters), at least one word for a keyword rule, and a period of at least one minute.", "無法儲存此規則：需要名稱、回覆內容（最多 4,096 字）、關鍵字規則至少一個字詞，以及至少一分鐘的間隔。"),
    ("error.code.invalid_numbers", "Choose the numbers this applies to, among the numbers you work on.", "請從您負責的號碼中選擇適用的號碼。"),
    ("error.code.invalid_code", "A code is 1 to 8 letters or digits, such as 103.", "編號須為 1 至 8 個英文字母或數字，例如 103。"),
    ("error.code.invalid_agents", "Some of the chosen agents are not there any more; nobody was changed.", "部分選取的客服人員已不存在；沒有任何更改。"),
    ("error.code.invalid_change", "Choose what to change (a name or a code is changed on the agent's own row).", "請選擇要更改的項目（名稱或代號須在該客服人員的一行更改）。"),
    ("error.code.invalid_capacity", "A limit is 1 to 10,000 conversations, or empty for no limit.", "上限須為 1 至 10,000 個對話，或留空表示不設限。"),
    ("error.code.forbidden", "Your role does not allow this.", "您的角色無權執行此操作。"),
    ("error.code.not_found", "It is not there, or it is outside the numbers you work on.", "找不到，或不在您負責的號碼範圍內。"),
    ("error.code.conflict", "That cannot be done in its current state.", "目前狀態下無法執行此操作。"),
    ("error.code.too_many_attempts", "Too many attempts. Please wait a few minutes.", "嘗試次數過多，請稍候幾分鐘。"),
    ("error.code.internal", "Something went wrong on the server. Please try again.", "伺服器發生錯誤，請再試一次。"),
    ("error.code.csrf", "The request was refused for safety. Reload the page and try again.", "為安全起見已拒絕此要求，請重新整理頁面後再試。"),
    ("error.code.group_provider_cannot", "The Cloud API cannot do this. Link the number's WhatsApp as a device to do it, or send the invite link.", "Cloud API 無法執行此操作。請將號碼的 WhatsApp 連結為裝置，或改為傳送邀請連結。"),
    ("error.code.group_not_admin", "This number is not an admin of the group.", "此號碼不是該群組的管理員。"),
    ("error.code.group_number_offline", "This number is offline right now, so nothing was done. Try again when it is back online.", "此號碼目前離線，未執行任何操作。請在恢復連線後再試。"),
    ("error.code.group_number_logged_out", "This number's linked device was logged out. Pair it again on the Groups page.", "此號碼的連結裝置已登出。請在「群組」頁面重新配對。"),
    ("error.code.group_number_banned", "WhatsApp has banned this number.", "WhatsApp 已封鎖此號碼。"),
    ("error.code.group_rate_limited", "WhatsApp asked us to slow down. Try again in a minute.", "WhatsApp 要求放慢速度，請一分鐘後再試。"),
    ("error.code.group_refused", "WhatsApp refused this change.", "WhatsApp 拒絕了此變更。"),
    ("error.code.group_outcome_unknown", "WhatsApp did not answer; the change may or may not have been made. The group will show it.", "WhatsApp 沒有回應，變更可能已完成也可能沒有，群組資料會顯示結果。"),
    ("error.code.invalid_photo", "A group photo must be a square JPEG image, at least 192 × 192 pixels and at most 5 MB.", "群組相片必須是正方形 JPEG 圖片，至少 192 × 192 像素，最大 5 MB。"),
    ("error.code.invalid_group", "The group's name must be 1 to 128 characters, and the description at most 2,048.", "群組名稱須為 1 至 128 個字元，說明最多 2,048 個字元。"),
    ("error.code.group_add_cap", "This number reached today's limit of adds. Send the invite link instead.", "此號碼已達今日加入成員上限，請改為傳送邀請連結。"),
    ("error.code.invalid_people", "Name 1 to 50 people.", "請指定 1 至 50 人。"),
    ("error.code.invalid_person", "Type a phone number with its country code, lid:… or a BSUID.", "請輸入含國碼的電話號碼、lid:… 或 BSUID。"),
    ("error.code.invalid_setting", "That value cannot be set: check its length.", "無法設定此值，請檢查長度。"),
    ("error.code.no_requests", "None of these join requests is waiting any more.", "這些加入申請都已不在等候中。"),
    ("error.code.query_too_short", "Type at least 2 characters of a name, or 4 digits of a phone.", "請至少輸入名稱的 2 個字或電話的 4 位數字。"),
    ("error.code.nothing_to_do", "No group needs this change.", "沒有群組需要此變更。"),
    ("error.code.nothing_to_rerun", "No group of this job was skipped for being offline.", "此工作沒有因離線而略過的群組。"),
    ("error.code.linked_devices_off", "Linked devices are turned off in this relay's configuration.", "此中繼伺服器的設定未啟用連結裝置。"),
    ("error.code.invalid_phone", "Type the phone number with its country code.", "請輸入含國碼的電話號碼。"),
    ("error.code.empty_message", "The message is empty.", "訊息是空的。"),
    ("error.code.message_too_long", "The message is longer than 4,096 characters.", "訊息超過 4,096 個字元。"),
    ("common.close", "Close", "關閉"),
    ("nav.auto_replies", "Auto-replies", "自動回覆"),
    ("agents.duty", "Code · most open conversations", "客服編號 · 對話上限"),
    ("agents.duty_help", "Customers may see the code (#103). Agents with a code take conversations when a number assigns them automatically; leave the limit empty for none.", "客戶可能會看到編號（例如 #103）。有編號的同事會接收自動分派的對話；上限留空即不設限。"),
    ("agents.code", "Code customers see, e.g. 103", "客戶看到的編號，例如 103"),
    ("agents.capacity", "Most open conversations (empty: no limit)", "最多同時處理的對話（留空：不設限）"),
    ("agents.away", "Away", "暫離"),
    ("agents.online", "Online", "在線"),
    ("agents.offline", "Offline", "離線"),
    ("auto.title", "Auto-replies and business hours", "自動回覆及營業時間"),
    ("auto.intro", "Switchboard answers customers by these rules even when nobody has the console open.", "即使沒有人開著控制台，Switchboard 也會按這些規則回覆客戶。"),
    ("auto.hours", "Business hours", "營業時間"),
    ("auto.number", "Number", "號碼"),
    ("auto.always_open", "Always open (no away message)", "全天候營業（不發送休息訊息）"),
    ("auto.open", "Open", "營業"),
    ("auto.closed", "Closed", "休息"),
    ("auto.from", "Opens at", "開始時間"),
    ("auto.until", "Closes at", "結束時間"),
    ("auto.holidays", "Closed on these dates (holidays)", "休息日期（假期）"),
    ("auto.assignment", "New conversations go to", "新對話分派給"),
    ("auto.assign.manual", "Nobody: agents take them from the queue", "不自動分派：由同事從待處理中領取"),
    ("auto.assign.round_robin", "Agents on duty, in turn", "當值同事，輪流分派"),
    ("auto.assign.least_open", "The agent on duty with the fewest open conversations", "當值而對話最少的同事"),
    ("day.mon", "Monday", "星期一"),
    ("day.tue", "Tuesday", "星期二"),
    ("day.wed", "Wednesday", "星期三"),
    ("day.thu", "Thursday", "星期四"),
    ("day.fri", "Friday", "星期五"),
    ("day.sat", "Saturday", "星期六"),
    ("day.sun", "Sunday", "星期日"),
    ("auto.rules", "Rules", "規則"),
    ("auto.empty", "No auto-replies yet. Add a welcome message, answers to common questions, or an away message for after hours.", "尚未設定自動回覆。可加入歡迎訊息、常見問題的答覆，或非營業時間的休息訊息。"),
    ("auto.trigger.welcome", "A customer's first message", "客戶的第一則訊息"),
    ("auto.trigger.away", "Outside business hours", "非營業時間"),
    ("auto.trigger.keyword", "Contains:", "包含："),
    ("auto.trigger.keyword_choice", "The message contains a word", "訊息包含某個字詞"),
    ("auto.off", "Off", "已停用"),
    ("auto.answered", "answered {n} times", "已回覆 {n} 次"),
    ("auto.turn_off", "Turn off", "停用"),
    ("auto.turn_on", "Turn on", "啟用"),
    ("auto.confirm_delete", "Delete this rule? Customers will no longer get its answer.", "刪除此規則？客戶將不再收到它的回覆。"),
    ("auto.new", "New rule", "新增規則"),
    ("auto.name", "Name", "名稱"),
    ("auto.when", "Answer when", "何時回覆"),
    ("auto.words", "Words (separated by commas)", "字詞（以逗號分隔）"),
    ("auto.words_example", "hours, opening time, 營業時間", "營業時間, 幾點開門, hours"),
    ("auto.words_help", "Capitals and full-width letters do not matter.", "大小寫及全形、半形字元均視為相同。"),
    ("auto.reply", "Reply", "回覆內容"),
    ("auto.placeholders", "You can use {contact.name}, {agent} (the agent who will follow up, e.g. #103) and {opens_at} (when you open next, e.g. 09:00 tomorrow).", "可使用 {contact.name}、{agent}（跟進的同事，例如 #103）及 {opens_at}（下次營業時間，例如「明天 09:00」）。"),
    ("auto.period", "At most once per conversation every (minutes)", "每個對話最多每（分鐘）回覆一次"),
    ("auto.lang", "Language of {opens_at}", "{opens_at} 的語言"),
    ("auto.add", "Add rule", "加入規則"),
    ("nav.groups", "Groups", "群組"),
    ("groups.title", "Groups", "群組"),
    ("groups.refresh", "Refresh from WhatsApp", "從 WhatsApp 重新讀取"),
    ("groups.new", "New group", "建立群組"),
    ("groups.new.title", "New group", "建立新群組"),
    ("groups.new.number", "Number", "號碼"),
    ("groups.new.subject", "Group name", "群組名稱"),
    ("groups.new.description", "Description (optional)", "說明（選填）"),
    ("groups.new.approval", "New members need an admin's approval", "新成員須經管理員核准"),
    ("groups.new.create", "Create group", "建立群組"),
    ("groups.new.no_numbers", "No number can make groups yet: connect a Cloud API number, or link a number's WhatsApp below.", "目前沒有可建立群組的號碼：請連接 Cloud API 號碼，或在下方連結號碼的 WhatsApp。"),
    ("groups.new.made", "Group created.", "群組已建立。"),
    ("groups.new.requested", "WhatsApp is creating the group; it appears in the list in a moment.", "WhatsApp 正在建立群組，稍後會出現在清單中。"),
    ("groups.creations.title", "Groups being created", "建立中的群組"),
    ("groups.creation.requested", "Waiting for WhatsApp", "等待 WhatsApp 回覆"),
    ("groups.creation.failed", "Not created", "未能建立"),
    ("groups.edit.title", "Name, description and photo", "名稱、說明與相片"),
    ("groups.photo", "Group photo", "群組相片"),
    ("groups.us", "This number", "此號碼"),
    ("groups.photo.help", "A square JPEG, at least 192 × 192 pixels, at most 5 MB.", "正方形 JPEG 圖片，至少 192 × 192 像素，最大 5 MB。"),
    ("groups.delete", "Delete group for everyone", "為所有人刪除群組"),
    ("groups.leave", "Leave group", "退出群組"),
    ("groups.delete.confirm", "Delete this group for everyone? All members are removed and nobody can write in it again.", "要為所有人刪除此群組嗎？所有成員都會被移除，之後無人能再於群組發言。"),
    ("groups.leave.confirm", "Leave this group? This number stops seeing it; the other members stay.", "要退出此群組嗎？此號碼將不再看到它，其他成員仍會留在群組中。"),
    ("groups.ending", "Waiting for WhatsApp to confirm…", "正在等待 WhatsApp 確認…"),
    ("groups.refreshing", "Reading groups…", "正在讀取群組…"),
    ("groups.search", "Search groups by name", "依名稱搜尋群組"),
    ("groups.all_numbers", "All numbers", "所有號碼"),
    ("groups.filter.requests", "Has join requests", "有加入申請"),
    ("groups.filter.admins_only", "Admins-only messages", "僅限管理員發言"),
    ("groups.filter.not_admin", "Where we are not admin", "我方不是管理員"),
    ("groups.empty", "No groups yet. Link a number's WhatsApp below, or connect a Cloud API number that has groups.", "尚無群組。請在下方連結號碼的 WhatsApp，或連接有群組的 Cloud API 號碼。"),
    ("groups.pick", "Choose this group for a bulk action", "選取此群組進行批次操作"),
    ("groups.col.subject", "Group", "群組"),
    ("groups.col.number", "Number", "號碼"),
    ("groups.col.members", "Members", "成員"),
    ("groups.col.admins", "Admins", "管理員"),
    ("groups.col.requests", "Requests", "申請"),
    ("groups.col.settings", "Settings", "設定"),
    ("groups.col.activity", "Last activity", "最後活動"),
    ("groups.not_admin", "not admin", "非管理員"),
    ("groups.admins_only", "Only admins can send messages", "僅限管理員發送訊息"),
    ("groups.locked", "Only admins can edit group info", "僅限管理員編輯群組資訊"),
    ("groups.approval", "Admins approve new members", "新成員須經管理員核准"),
    ("groups.lid", "Members are shown by LID (private id); some phones are hidden", "成員以 LID（私密 ID）顯示，部分電話號碼被隱藏"),
    ("groups.provider.cloud", "Cloud API", "Cloud API"),
    ("groups.provider.linked", "Linked device", "連結裝置"),
    ("groups.conn.online", "online", "在線"),
    ("groups.conn.connecting", "connecting", "連線中"),
    ("groups.conn.offline", "offline", "離線"),
    ("groups.conn.offline_since", "offline since", "離線自"),
    ("groups.conn.logged_out", "logged out", "已登出"),
    ("groups.conn.banned", "banned", "已被封鎖"),
    ("groups.why.provider", "The Cloud API cannot do this", "Cloud API 無法執行此操作"),
    ("groups.why.not_admin", "Our number is not an admin", "我方號碼不是管理員"),
    ("groups.why.admins_only", "Only admins can send here", "此群組僅限管理員發言"),
    ("groups.why.offline", "The number is offline", "號碼離線中"),
    ("groups.why.logged_out", "The number was logged out; pair it again", "號碼已登出，請重新配對"),
    ("groups.why.banned", "The number is banned", "號碼已被封鎖"),
    ("groups.banner.refused", "Group actions on it are refused until it is back online.", "恢復連線前，此號碼的群組操作都會被拒絕。"),
    ("groups.banner.repair", "Pair it again below (scan the QR code with WhatsApp on the phone).", "請在下方重新配對（用手機上的 WhatsApp 掃描 QR 碼）。"),
    ("groups.devices.title", "Linked devices", "連結裝置"),
    ("groups.devices.help", "A linked device lets Switchboard manage groups as the phone can (add, promote, admins-only…). On the phone: WhatsApp → Linked devices → Link a device.", "連結裝置讓 Switchboard 能像手機一樣管理群組（加入成員、設為管理員、僅限管理員發言…）。在手機上：WhatsApp → 已連結的裝置 → 連結裝置。"),
    ("groups.devices.groups", "groups", "個群組"),
    ("groups.devices.scan", "Scan this code with WhatsApp on the phone:", "請用手機上的 WhatsApp 掃描此碼："),
    ("groups.devices.code", "Type this code on the phone:", "請在手機上輸入此代碼："),
    ("groups.devices.unlink", "Unlink", "解除連結"),
    ("groups.devices.phone", "Phone number with country code", "含國碼的電話號碼"),
    ("groups.devices.label", "Name (optional)", "名稱（選填）"),
    ("groups.devices.by_code", "Pair with a code instead of a QR code", "改用代碼配對"),
    ("groups.devices.link", "Link", "連結"),
    ("groups.members", "members", "成員"),
    ("groups.members.title", "Members", "成員"),
    ("groups.link.show", "Invite link", "邀請連結"),
    ("groups.link.reset", "Reset link", "重設連結"),
    ("groups.requests", "Join requests", "加入申請"),
    ("groups.requests.none", "Nobody is waiting to join.", "目前沒有人等待加入。"),
    ("groups.requests.approve", "Approve", "核准"),
    ("groups.requests.reject", "Reject", "拒絕"),
    ("groups.requests.approve_all", "Approve all", "全部核准"),
    ("groups.requests.reject_all", "Reject all", "全部拒絕"),
    ("groups.add", "Add", "加入"),
    ("groups.add.placeholder", "Phone numbers, separated by commas", "電話號碼，以逗號分隔"),
    ("groups.add.invite", "Send invite link instead", "改為傳送邀請連結"),
    ("groups.outcome.done", "done", "完成"),
    ("groups.outcome.privacy", "their privacy settings refuse adds — send them the invite link:", "對方的隱私設定不允許被加入，請傳送邀請連結："),
    ("groups.outcome.not_member", "not a member", "不是成員"),
    ("groups.outcome.already", "already a member", "已是成員"),
    ("groups.role.member", "member", "成員"),
    ("groups.role.admin", "admin", "管理員"),
    ("groups.role.owner", "owner", "建立者"),
    ("groups.promote", "Make admin", "設為管理員"),
    ("groups.demote", "Remove admin", "取消管理員"),
    ("groups.remove", "Remove", "移除"),
    ("groups.send.title", "Send a message", "發送訊息"),
    ("groups.send.placeholder", "Message to the group", "給群組的訊息"),
    ("groups.send.mention", "@ mention a member…", "@ 提及成員…"),
    ("groups.send", "Send", "發送"),
    ("groups.send.sent", "Sent.", "已發送。"),
    ("groups.revoke.title", "Delete a message for everyone", "為所有人刪除訊息"),
    ("groups.revoke.id", "Message id", "訊息 ID"),
    ("groups.revoke.sender", "Sender's phone", "發送者電話"),
    ("groups.revoke.button", "Delete for everyone", "為所有人刪除"),
    ("groups.bulk.title", "Act on many groups", "批次管理群組"),
    ("groups.bulk.help", "Choose what to do and where; a dry run shows what will happen in each group before anything is done. Changes go out one at a time per number, paced so WhatsApp does not ban it.", "選擇要做什麼以及在哪些群組；試算會先列出每個群組將發生什麼，再開始執行。每個號碼一次只做一項變更，並控制速度以免被 WhatsApp 封鎖。"),
    ("groups.bulk.remove", "Remove a person from every group", "將某人從所有群組移除"),
    ("groups.bulk.approve", "Approve a person's join requests everywhere", "核准某人在所有群組的加入申請"),
    ("groups.bulk.reject", "Reject a person's join requests everywhere", "拒絕某人在所有群組的加入申請"),
    ("groups.bulk.admins_only_on", "Set admins-only messages", "設為僅限管理員發言"),
    ("groups.bulk.admins_only_off", "Let everyone send again", "恢復所有人可發言"),
    ("groups.bulk.locked_on", "Lock group info", "鎖定群組資訊"),
    ("groups.bulk.locked_off", "Unlock group info", "解除鎖定群組資訊"),
    ("groups.bulk.announce", "Post an announcement", "發布公告"),
    ("groups.bulk.person", "Phone or name", "電話或姓名"),
    ("groups.bulk.find", "Find", "尋找"),
    ("groups.bulk.asked", "asked to join", "申請加入中"),
    ("groups.bulk.only_selected", "Only the chosen groups", "僅限已選取的群組"),
    ("groups.bulk.dry_run", "Dry run", "試算"),
    ("groups.bulk.run", "Do it now", "立即執行"),
    ("groups.bulk.cancel", "Stop", "停止"),
    ("groups.bulk.rerun", "Run again where offline", "重新執行離線略過的群組"),
    ("groups.verdict.act", "will change", "將變更"),
    ("groups.verdict.nothing", "nothing to do", "無需變更"),
    ("groups.verdict.not_admin", "not admin", "非管理員"),
    ("groups.verdict.unresolved", "can't tell (hidden phones)", "無法確認（電話被隱藏）"),
    ("groups.verdict.offline", "number offline", "號碼離線"),
    ("groups.verdict.cannot", "not possible here", "此處無法執行"),
    ("groups.item.skipped", "skipped", "略過"),
    ("groups.item.waiting", "waiting", "等待中"),
    ("groups.item.in_flight", "sending", "傳送中"),
    ("groups.item.accepted", "accepted, checking", "已接受，確認中"),
    ("groups.item.confirmed", "done", "完成"),
    ("groups.item.unconfirmed", "accepted but never took effect", "已接受但未生效"),
    ("groups.item.skipped_offline", "skipped: offline", "略過：離線"),
    ("groups.item.failed", "failed", "失敗"),
    ("groups.item.cancelled", "cancelled", "已取消"),
    ("error.code.invalid_body", "The request was not understood. Reload the page and try again.", "無法理解此要求，請重新整理頁面後再試。"),
    ("error.code.audience", "Check the audience: the list or the earlier broadcast is not usable.", "請檢查受眾：名單或先前的群發無法使用。"),
    ("error.code.frequency_cap", "A frequency cap is at least 1 message in 1 to 365 days.", "頻率上限須為 1 至 365 天內至少 1 則訊息。"),
    ("error.code.graph_error", "WhatsApp refused the request.", "WhatsApp 拒絕了此要求。"),
    ("error.code.graph_refused", "WhatsApp refused these details. Check the ids and the access token.", "WhatsApp 不接受這些資料，請檢查 ID 與存取權杖。"),
    ("error.code.header_image", "Check the picture header: this template needs a picture link starting with https://, or none.", "請檢查圖片標頭：此範本需要以 https:// 開頭的圖片連結，或不需要圖片。"),
    ("error.code.invalid_confirmation", "The confirmation message is not valid.", "確認訊息無效。"),
    ("error.code.invalid_csv", "The file is not a readable CSV.", "檔案不是可讀取的 CSV。"),
    ("error.code.invalid_emails", "Some email addresses are not valid.", "部分電郵地址無效。"),
    ("error.code.invalid_filter", "The filter is not valid.", "篩選條件無效。"),
    ("error.code.invalid_format", "That format is not offered.", "不支援此格式。"),
    ("error.code.invalid_keywords", "The opt-out keywords are not valid.", "退訂關鍵字無效。"),
    ("error.code.invalid_label", "A label is not valid (1 to 40 characters, no commas).", "標籤無效（1 至 40 個字元，不可含逗號）。"),
    ("error.code.invalid_link", "This link is not valid or has expired. Ask for a new one.", "此連結無效或已過期，請索取新連結。"),
    ("error.code.invalid_mapping", "The column choices do not match the file.", "欄位設定與檔案不符。"),
    ("error.code.invalid_name", "The name is missing or too long.", "名稱未填或過長。"),
    ("error.code.invalid_number", "That is not a phone-number id.", "這不是有效的電話號碼 ID。"),
    ("error.code.invalid_scope", "The chosen numbers are not valid.", "所選號碼無效。"),
    ("error.code.invalid_segment", "The segment has a mistake.", "分群條件有誤。"),
    ("error.code.invalid_tag", "A tag is not valid.", "標籤無效。"),
    ("error.code.invalid_text", "The message is empty or too long (at most 4,096 characters).", "訊息為空或過長（最多 4,096 個字元）。"),
    ("error.code.invalid_time_zone", "That time zone is not known.", "無法識別此時區。"),
    ("error.code.missing_secret", "Both the access token and the app secret are needed.", "需要存取權杖與應用程式密鑰。"),
    ("error.code.no_numbers", "Choose at least one number to send from.", "請至少選擇一個發送號碼。"),
    ("error.code.number_disabled", "That number is paused; resume it first.", "此號碼已暫停，請先恢復。"),
    ("error.code.out_of_scope", "That agent does not work on this number.", "該客服人員不負責此號碼。"),
    ("error.code.outside_service_window", "The customer has not written in the last 24 hours; WhatsApp only allows a template now.", "客戶在過去 24 小時內沒有來訊，WhatsApp 目前只允許傳送範本訊息。"),
    ("error.code.unsupported_media_type", "WhatsApp does not accept this type of file. Send a JPEG or PNG image, a PDF, Word, Excel, PowerPoint or text document, an MP4 video or an audio file.", "WhatsApp 不接受此類型的檔案。請傳送 JPEG 或 PNG 圖片、PDF、Word、Excel、PowerPoint 或文字文件、MP4 影片或音訊檔。"),
    ("error.code.media_too_large", "The file is too large for WhatsApp: images up to 5 MB, video and audio up to 16 MB, documents up to 100 MB.", "檔案超過 WhatsApp 的上限：圖片 5 MB、影片與音訊 16 MB、文件 100 MB。"),
    ("error.code.invalid_media", "The file's contents do not match its type (or it is empty); it was not sent.", "檔案內容與其類型不符（或是空檔案），因此未傳送。"),
    ("error.code.invalid_caption", "A caption is at most 1,024 characters.", "說明文字最多 1,024 個字元。"),
    ("error.code.media_upload_failed", "WhatsApp did not take the file; nothing was sent. Try again in a moment.", "WhatsApp 未接收此檔案，沒有傳送任何內容。請稍後再試。"),
    ("error.code.media_not_ready", "The file is not here yet, or could not be fetched from WhatsApp.", "檔案尚未取得，或無法從 WhatsApp 下載。"),
    ("error.code.number_not_connected", "This number is not connected to the WhatsApp Cloud API here.", "此號碼尚未在這裡連接 WhatsApp Cloud API。"),
    ("template.choose", "Send a template", "傳送範本"),
    ("template.none", "Choose an approved template…", "選擇已核准的範本…"),
    ("template.none_approved", "This number has no approved template without a photo or document header. Sync templates on the Broadcasts page.", "此號碼沒有不需相片或文件標頭的已核准範本。請在「群發」頁同步範本。"),
    ("template.fill_all", "Fill in every value of the template.", "請填寫範本的所有變數。"),
    ("template.send", "Send template", "傳送範本"),
    ("template.value", "Value", "變數"),
    ("media.fetching", "Fetching the file from WhatsApp…", "正在從 WhatsApp 取得檔案…"),
    ("media.failed", "The file could not be fetched.", "無法取得檔案。"),
    ("media.photo", "Photo", "相片"),
    ("media.voice", "Voice message", "語音訊息"),
    ("media.audio", "Audio", "音訊"),
    ("media.document", "Document", "文件"),
    ("media.video", "Video", "影片"),
    ("media.sticker", "Sticker", "貼圖"),
    ("media.location", "Location", "位置"),
    ("media.contacts", "Contact card", "聯絡人名片"),
    ("media.template", "Template", "範本"),
    ("media.download", "Download", "下載"),
    ("media.open_map", "Open in map", "在地圖中開啟"),
    ("media.attach", "Attach a photo or document", "附加相片或文件"),
    ("media.remove", "Remove the file", "移除檔案"),
    ("media.caption_placeholder", "Add a caption (optional)…", "加入說明文字（選填）…"),
    ("media.unsupported", "WhatsApp does not accept this type of file. Send a JPEG or PNG image, a PDF, Word, Excel, PowerPoint or text document, an MP4 video or an audio file.", "WhatsApp 不接受此類型的檔案。請傳送 JPEG 或 PNG 圖片、PDF、Word、Excel、PowerPoint 或文字文件、MP4 影片或音訊檔。"),
    ("media.too_large", "The file is too large for WhatsApp: images up to 5 MB, video and audio up to 16 MB, documents up to 100 MB.", "檔案超過 WhatsApp 的上限：圖片 5 MB、影片與音訊 16 MB、文件 100 MB。"),
    ("media.empty", "The file is empty.", "檔案是空的。"),
    ("error.code.template_needs_media", "This template has a photo or document header; send it from Broadcasts, which takes the header.", "此範本的標頭需要相片或文件，請在「群發」中傳送。"),
    ("error.code.parameters", "The template needs a different number of values.", "範本所需的變數數量不符。"),
    ("error.code.send_at", "Check the start time: it has passed or is not a valid date and time.", "請檢查開始時間：已過期或不是有效的日期時間。"),
    ("error.code.template_not_approved", "Only approved templates can be sent.", "只能傳送已核准的範本。"),
    ("error.code.too_large", "The file is too large.", "檔案過大。"),
    ("error.code.unknown_agent", "There is no active agent with that id.", "找不到此啟用中的客服人員。"),
    ("error.code.unknown_number", "That number is not connected.", "此號碼尚未連接。"),
    ("error.code.unknown_role", "There is no such role.", "沒有此角色。"),
    ("error.code.unknown_template", "That template is not among the number's templates; sync templates first.", "此號碼沒有這個範本，請先同步範本。"),
    ("error.code.weak_password", "Choose a longer password (at least 10 characters).", "請使用較長的密碼（至少 10 個字元）。"),
];

/// A key the string table has. Made by [`key!`], which checks it while compiling: a missing
/// key is a build error, not a blank label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(&'static str);

impl Key {
    /// Used by [`key!`] in a constant, so a key the table lacks stops the build.
    #[doc(hidden)]
    pub const fn checked(key: &'static str) -> Key {
        assert!(has_key(key), "this i18n key is not in the string table");
        Key(key)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// A checked [`Key`]: `key!("nav.inbox")`.
#[macro_export]
macro_rules! key {
    ($key:literal) => {{
        const KEY: $crate::i18n::Key = $crate::i18n::Key::checked($key);
        KEY
    }};
}

/// Whether the string table has `key` (usable in constants).
pub const fn has_key(key: &str) -> bool {
    let mut i = 0;
    while i < STRINGS.len() {
        if same(STRINGS[i].0.as_bytes(), key.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Looks a key up; an unknown key shows itself, so a gap is visible rather than blank.
pub fn translate(lang: Lang, key: &str) -> &str {
    text(lang, key).unwrap_or(key)
}

/// The text for `key` in `lang`, if the table has the key.
fn text(lang: Lang, key: &str) -> Option<&'static str> {
    table().iter().find(|(k, _, _)| *k == key).map(|&(_, en, zh)| match lang {
        Lang::En => en,
        Lang::ZhHant => zh,
    })
}

/// The string table as the console carries it: every key and its two texts in one run of
/// bytes, each ended by a NUL, packed while compiling. `STRINGS` itself is read only while
/// compiling: carried as it is written, its 2,000-odd references (a pointer and a length each)
/// would be 17 KB of the first download.
static PACKED: [u8; PACKED_LEN] = pack();

const PACKED_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < STRINGS.len() {
        n += STRINGS[i].0.len() + STRINGS[i].1.len() + STRINGS[i].2.len() + 3;
        i += 1;
    }
    n
};

const fn pack() -> [u8; PACKED_LEN] {
    const fn put(out: &mut [u8; PACKED_LEN], mut at: usize, text: &str) -> usize {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i] != 0, "a NUL in the string table");
            out[at] = bytes[i];
            at += 1;
            i += 1;
        }
        at + 1
    }
    let mut out = [0; PACKED_LEN];
    let mut at = 0;
    let mut i = 0;
    while i < STRINGS.len() {
        at = put(&mut out, at, STRINGS[i].0);
        at = put(&mut out, at, STRINGS[i].1);
        at = put(&mut out, at, STRINGS[i].2);
        i += 1;
    }
    out
}

/// (key, English, Traditional Chinese) for every key, read from `PACKED` on first use.
fn table() -> &'static [(&'static str, &'static str, &'static str)] {
    static TABLE: std::sync::OnceLock<Vec<(&str, &str, &str)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut fields = std::str::from_utf8(&PACKED).unwrap_or_default().split('\0');
        let mut rows = Vec::with_capacity(STRINGS.len());
        while let (Some(key), Some(en), Some(zh)) = (fields.next(), fields.next(), fields.next()) {
            rows.push((key, en, zh));
        }
        rows
    })
}

const STORAGE_KEY: &str = "switchboard.lang";

/// The console's language, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

impl I18n {
    /// Reads the remembered choice, else the browser's preference.
    pub fn new() -> I18n {
        let remembered = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).and_then(|t| Lang::from_tag(&t));
        let browser =
            web_sys::window().and_then(|w| w.navigator().language()).map(|l| if l.starts_with("zh") { Lang::ZhHant } else { Lang::En });
        let i18n = I18n { lang: RwSignal::new(remembered.or(browser).unwrap_or(Lang::En)) };
        i18n.apply();
        i18n
    }

    /// The text for `key` in the current language (reactive).
    pub fn t(&self, key: Key) -> String {
        translate(self.lang.get(), key.as_str()).to_owned()
    }

    /// A key made at run time (`role.Agent`, `action.agent.create`); `None` when the table has
    /// no such key, so the caller can show the raw value instead.
    pub fn lookup(&self, key: &str) -> Option<String> {
        text(self.lang.get(), key).map(str::to_owned)
    }

    pub fn set(&self, lang: Lang) {
        self.lang.set(lang);
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, lang.tag());
        }
        self.apply();
    }

    pub fn toggle(&self) {
        self.set(if self.lang.get_untracked() == Lang::En { Lang::ZhHant } else { Lang::En });
    }

    fn apply(&self) {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", self.lang.get_untracked().tag());
        }
    }
}

impl Default for I18n {
    fn default() -> Self {
        I18n::new()
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The console's `I18n` from context.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated_into_both_languages() {
        let mut keys = std::collections::HashSet::new();
        for (key, en, zh) in STRINGS {
            assert!(keys.insert(key), "duplicate key {key}");
            assert!(!en.is_empty() && !zh.is_empty(), "{key} lacks a translation");
        }
        assert_eq!(translate(Lang::ZhHant, "nav.inbox"), "收件匣");
        assert_eq!(table(), STRINGS, "the packed table reads back as written");
        assert_eq!(translate(Lang::En, "no.such.key"), "no.such.key");
        assert_eq!(text(Lang::En, "no.such.key"), None, "a lookup of a key made at run time finds nothing");
    }
}
