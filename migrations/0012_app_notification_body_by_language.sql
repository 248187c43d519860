-- App channels used to store the old default notification text, 'You have a new message', as if
-- an admin had chosen it. The default now follows the customer's language (Chinese unless the
-- contact speaks English), so channels still carrying the old default are given it: dropping the
-- stored value lets the default apply. A bank that set its own text keeps it.
UPDATE channels SET config = config - 'notificationBody'
  WHERE type = 'app' AND config->>'notificationBody' = 'You have a new message';
