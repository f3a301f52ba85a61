/** "A", "A or B", "A, B or C": how ASP lists the connection types a stage accepts. */
export function mentionList(labels: readonly string[]): string {
  if (labels.length <= 1) return labels.join("");
  return `${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`;
}
