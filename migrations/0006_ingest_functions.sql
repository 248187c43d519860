-- The inbound hot path as database functions: storing a customer message takes one round trip
-- instead of a dozen, which is what bounds the hub's ingest rate (each statement costs the hub
-- more CPU than the database spends on it). The TypeScript callers are in core/inbound/.

-- Marks a stored provider event processed; false when it is not pending (done, dead, or taken
-- by a concurrent job). The row lock it takes keeps a second job for the event waiting until
-- the first commits or rolls back.
CREATE FUNCTION hub_claim_inbound_event(p_event_id uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE inbound_events SET status = 'processed', processed_at = now(), error = NULL
    WHERE id = p_event_id AND status = 'pending';
  RETURN FOUND;
END $$;
--> statement-breakpoint

-- The contact owning a sender's identity. A known identity is upgraded to verified when the
-- channel proves it and fills an empty contact name; a new one joins p_owner_id (the contact of
-- a verified linked identity) or a new contact. Two transactions creating one identity race on
-- its unique index: the loser drops its contact and adopts the winner's.
CREATE FUNCTION hub_resolve_identity(
  p_kind text, p_scope text, p_value text, p_verified boolean, p_source text, p_name text, p_owner_id uuid
) RETURNS TABLE (resolved_contact_id uuid, resolved_identity_id uuid, created_contact boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_identity_id uuid;
  v_contact_id uuid;
  v_verified boolean;
BEGIN
  SELECT i.id, i.contact_id, i.verified INTO v_identity_id, v_contact_id, v_verified
    FROM contact_identities i WHERE i.kind = p_kind AND i.scope = p_scope AND i.value = p_value;
  IF NOT FOUND THEN
    v_contact_id := p_owner_id;
    IF v_contact_id IS NULL THEN
      INSERT INTO contacts (name) VALUES (p_name) RETURNING id INTO v_contact_id;
    END IF;
    INSERT INTO contact_identities (contact_id, kind, scope, value, verified, source)
      VALUES (v_contact_id, p_kind, p_scope, p_value, p_verified, p_source)
      ON CONFLICT DO NOTHING RETURNING id INTO v_identity_id;
    IF v_identity_id IS NOT NULL THEN
      RETURN QUERY SELECT v_contact_id, v_identity_id, p_owner_id IS NULL;
      RETURN;
    END IF;
    IF p_owner_id IS NULL THEN
      DELETE FROM contacts WHERE id = v_contact_id;
    END IF;
    SELECT i.id, i.contact_id, i.verified INTO v_identity_id, v_contact_id, v_verified
      FROM contact_identities i WHERE i.kind = p_kind AND i.scope = p_scope AND i.value = p_value;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'identity % vanished while resolving it', p_kind;
    END IF;
  END IF;
  IF p_verified AND NOT v_verified THEN
    UPDATE contact_identities SET verified = true WHERE id = v_identity_id;
  END IF;
  IF p_name IS NOT NULL THEN
    UPDATE contacts SET name = p_name, updated_at = now() WHERE id = v_contact_id AND name IS NULL;
  END IF;
  RETURN QUERY SELECT v_contact_id, v_identity_id, false;
END $$;
--> statement-breakpoint

-- The contact's unresolved conversation active within the window, on any channel, or a new one;
-- the channel just used becomes the one replies go out on and joins the channels seen. The
-- contact row is locked first so two messages of one customer processed at once join one
-- conversation. FOR NO KEY UPDATE still excludes a second message and a merge (FOR UPDATE), but
-- not the key-share lock that inserting any row referencing the contact takes: a transaction
-- that already locked the conversation and then queues a reply would otherwise deadlock with
-- this one. A contact merged away since its identity was read fails the call, so the retry
-- finds the survivor through the moved identity.
CREATE FUNCTION hub_open_conversation(p_contact_id uuid, p_channel_id uuid, p_window_secs double precision)
RETURNS TABLE (opened_conversation_id uuid, opened boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_merged_into uuid;
  v_conversation_id uuid;
BEGIN
  SELECT c.merged_into_id INTO v_merged_into FROM contacts c WHERE c.id = p_contact_id FOR NO KEY UPDATE;
  IF v_merged_into IS NOT NULL THEN
    RAISE EXCEPTION 'contact % was merged into % meanwhile; retrying', p_contact_id, v_merged_into;
  END IF;
  SELECT c.id INTO v_conversation_id FROM conversations c
    WHERE c.contact_id = p_contact_id AND c.status <> 'resolved'
      AND c.last_message_at > now() - make_interval(secs => p_window_secs)
    ORDER BY c.last_message_at DESC LIMIT 1;
  IF FOUND THEN
    UPDATE conversations c SET last_channel_id = p_channel_id, last_message_at = now(), updated_at = now(),
        seen_channel_ids = CASE WHEN p_channel_id = ANY (c.seen_channel_ids) THEN c.seen_channel_ids
                                ELSE array_append(c.seen_channel_ids, p_channel_id) END
      WHERE c.id = v_conversation_id;
    RETURN QUERY SELECT v_conversation_id, false;
    RETURN;
  END IF;
  INSERT INTO conversations (contact_id, last_channel_id, seen_channel_ids)
    VALUES (p_contact_id, p_channel_id, ARRAY[p_channel_id]) RETURNING id INTO v_conversation_id;
  RETURN QUERY SELECT v_conversation_id, true;
END $$;
--> statement-breakpoint

-- Appends a customer message from a stored provider event. With p_claim the event is claimed
-- first (no row back when it is not pending); a null p_contact_id resolves the sender's identity
-- (p_kind … p_name), a null p_conversation_id finds or opens the conversation. Attachments
-- stored while normalizing are handed to the message. after_handover tells whether the bot had
-- already handed the conversation to people and announced it: it has nothing to do then.
CREATE FUNCTION hub_append_inbound_message(
  p_event_id uuid, p_claim boolean, p_channel_id uuid,
  p_contact_id uuid, p_identity_id uuid,
  p_kind text, p_scope text, p_value text, p_verified boolean, p_source text, p_name text,
  p_conversation_id uuid, p_window_secs double precision,
  p_content_kind text, p_text text, p_payload jsonb, p_provider_message_id text, p_attachment_ids uuid[]
) RETURNS TABLE (
  message_id uuid, conversation_id uuid, contact_id uuid, identity_id uuid, created_contact boolean, opened_conversation boolean,
  after_handover boolean
)
LANGUAGE plpgsql AS $$
DECLARE
  v_contact_id uuid := p_contact_id;
  v_identity_id uuid := p_identity_id;
  v_created boolean := false;
  v_conversation_id uuid := p_conversation_id;
  v_opened boolean := false;
  v_message_id uuid;
BEGIN
  IF p_claim AND NOT hub_claim_inbound_event(p_event_id) THEN
    RETURN;
  END IF;
  IF v_contact_id IS NULL THEN
    SELECT r.resolved_contact_id, r.resolved_identity_id, r.created_contact INTO v_contact_id, v_identity_id, v_created
      FROM hub_resolve_identity(p_kind, p_scope, p_value, p_verified, p_source, p_name, NULL) r;
  END IF;
  IF v_conversation_id IS NULL THEN
    SELECT o.opened_conversation_id, o.opened INTO v_conversation_id, v_opened
      FROM hub_open_conversation(v_contact_id, p_channel_id, p_window_secs) o;
  END IF;
  INSERT INTO messages (conversation_id, contact_id, channel_id, identity_id, direction, author_kind,
                        content_kind, text, payload, provider_message_id, inbound_event_id, status)
    VALUES (v_conversation_id, v_contact_id, p_channel_id, v_identity_id, 'inbound', 'contact',
            p_content_kind, p_text, p_payload, p_provider_message_id, p_event_id, 'received')
    RETURNING id INTO v_message_id;
  IF cardinality(p_attachment_ids) > 0 THEN
    UPDATE attachments SET message_id = v_message_id WHERE id = ANY (p_attachment_ids);
  END IF;
  RETURN QUERY SELECT v_message_id, v_conversation_id, v_contact_id, v_identity_id, v_created, v_opened,
    EXISTS (SELECT 1 FROM bot_sessions b WHERE b.conversation_id = v_conversation_id
              AND b.state = 'handed_over' AND b.announced_at IS NOT NULL);
END $$;
