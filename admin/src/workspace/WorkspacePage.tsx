export default function WorkspacePage() {
  return <div>WorkspacePage</div>;
}
