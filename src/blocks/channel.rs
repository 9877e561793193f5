//! What a customer's CSM is told when the customer's channel is archived, renamed or
//! left by the app: posts there would otherwise fail without anyone knowing why.

use super::{Message, name};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;

/// The channel was archived.
pub fn archived(customer: &Customer, channel: &str, lang: Lang) -> Message {
    let name = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":file_cabinet: The channel of *{name}* (<#{channel}>) was archived. Reminders, escalations and ticket updates cannot be posted there: unarchive it, or link another with `/readiness customer {} channel=#…`.",
            customer.slug
        ),
        Lang::Ja => format!(
            ":file_cabinet: *{name}* のチャンネル（<#{channel}>）がアーカイブされました。リマインダー・エスカレーション・チケット更新を投稿できません。アーカイブを解除するか、`/readiness customer {} channel=#…` で別のチャンネルを設定してください。",
            customer.slug
        ),
    })
}

/// The app was removed from the channel.
pub fn left(customer: &Customer, channel: &str, lang: Lang) -> Message {
    let name = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":warning: Readiness was removed from the channel of *{name}* (<#{channel}>). Invite it back (`/invite @Readiness`) or its reminders and escalations cannot be posted."
        ),
        Lang::Ja => format!(
            ":warning: *{name}* のチャンネル（<#{channel}>）から Readiness が外されました。再招待（`/invite @Readiness`）しないとリマインダーやエスカレーションを投稿できません。"
        ),
    })
}

/// The channel was renamed to `new_name`.
pub fn renamed(customer: &Customer, new_name: &str, lang: Lang) -> Message {
    let name = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":pencil2: The channel of *{name}* was renamed to #{}. Nothing breaks: Readiness follows the channel, not its name.",
            super::name(new_name)
        ),
        Lang::Ja => format!(
            ":pencil2: *{name}* のチャンネル名が #{} に変わりました。Readiness はチャンネル名ではなくチャンネルを追うので影響はありません。",
            super::name(new_name)
        ),
    })
}
