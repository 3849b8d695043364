// Gold review: one key per decision on the focused pair (A accept, R reject, S swap; J/K move).
document.addEventListener("DOMContentLoaded", () => {
  const cards = Array.from(document.querySelectorAll(".gold-card"));
  if (!cards.length) return;
  cards[0].focus();
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.matches("input, textarea, select")) return;
    const card = document.activeElement.closest(".gold-card") || cards[0];
    const key = event.key.toLowerCase();
    const index = cards.indexOf(card);
    if (key === "j" || key === "k") {
      const next = cards[Math.min(cards.length - 1, Math.max(0, index + (key === "j" ? 1 : -1)))];
      next.focus();
      next.scrollIntoView({ block: "nearest" });
      event.preventDefault();
      return;
    }
    const button = card.querySelector(`button[data-key="${key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
});
