// A page's rules reach the host element, even with !important, and would be inherited inside.
// Everything therefore inherits from .root, which sets its own font and colour; the host's
// placement is !important because inside !important wins over the page's own.
export const widgetStyles = `
:host { all: initial !important; position: fixed !important; right: 20px !important; bottom: 20px !important;
  z-index: 2147483000 !important; display: block !important; }
.root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
  color: #1c2430; text-align: left; }
svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.launcher svg { width: 28px; height: 28px; }
[hidden] { display: none !important; }
button { font: inherit; cursor: pointer; border: 0; background: none; color: inherit; }
.launcher { width: 56px; height: 56px; border-radius: 50%; background: #0b5cad; color: #fff; display: grid; place-items: center;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.panel { width: 360px; height: 540px; max-height: calc(100vh - 40px); background: #fff; border-radius: 14px; overflow: hidden;
  display: flex; flex-direction: column; box-shadow: 0 10px 40px rgba(0,0,0,.25); }
header { display: flex; justify-content: space-between; align-items: center; padding: 12px 14px; background: #0b5cad; color: #fff; }
header div { display: flex; flex-direction: column; }
.status { font-size: 12px; opacity: .85; }
.icon { font-size: 18px; padding: 4px 6px; }
.messages { flex: 1; overflow-y: auto; padding: 12px; background: #f4f6f9; display: flex; flex-direction: column; gap: 8px; }
.row { display: flex; gap: 8px; max-width: 85%; }
.row small { font-size: 11px; color: #6b7685; align-self: flex-end; }
.mine { align-self: flex-end; flex-direction: row-reverse; }
.mine .bubble { background: #0b5cad; color: #fff; border-bottom-right-radius: 4px; }
.theirs .bubble { background: #fff; border: 1px solid #e1e5ea; border-bottom-left-radius: 4px; }
.theirs .name { display: block; margin-bottom: 2px; }
.pending { opacity: .7; }
.bubble { border-radius: 14px; padding: 8px 12px; word-break: break-word; white-space: pre-wrap; }
.bubble p { margin: 0; }
.bubble img { display: block; max-width: 200px; max-height: 200px; border-radius: 8px; margin-top: 4px; }
.file { color: inherit; }
.avatar { flex: none; width: 30px; height: 30px; border-radius: 50%; background: #d7e6f6; color: #0b5cad; display: grid;
  place-items: center; font-weight: 600; }
.system { align-self: center; font-size: 12px; color: #4a5563; background: #e6ebf1; border-radius: 10px; padding: 4px 10px; text-align: center; }
.typing { padding: 0 14px 6px; font-size: 12px; font-style: italic; color: #4a5563; }
.notice { padding: 8px 12px; background: #fff4e5; color: #8a4b00; font-size: 13px; border-top: 1px solid #f3d9b1; }
.composer { display: flex; align-items: flex-end; gap: 4px; padding: 8px; border-top: 1px solid #e1e5ea; }
textarea, input { font: inherit; color: inherit; border: 1px solid #cfd6de; border-radius: 10px; padding: 8px 10px; box-sizing: border-box; }
.composer textarea { flex: 1; resize: none; max-height: 96px; }
textarea:focus, input:focus { outline: 2px solid #8fb8e6; outline-offset: 0; border-color: #0b5cad; }
.composer .icon { color: #4a5563; }
.send { background: #0b5cad; color: #fff; border-radius: 10px; padding: 8px 14px; }
.emoji { display: grid; grid-template-columns: repeat(10, 1fr); padding: 6px; border-top: 1px solid #e1e5ea; }
.emoji button { font-size: 20px; padding: 4px 0; }
.offline { display: flex; flex-direction: column; gap: 8px; padding: 12px; border-top: 1px solid #e1e5ea; }
.offline p { margin: 0; font-size: 13px; color: #4a5563; }
@media (max-width: 480px) {
  :host { right: 12px !important; bottom: 12px !important; }
  .panel { position: fixed; inset: 0; width: auto; height: auto; max-height: none; border-radius: 0; }
  /* iOS zooms the page into any field under 16px. */
  textarea, input { font-size: 16px; }
}
`;
