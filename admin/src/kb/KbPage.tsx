export default function KbPage() {
  return <div>KbPage</div>;
}
