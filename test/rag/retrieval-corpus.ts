// A small corpus on distinct topics, and questions each answered by exactly one document.
// Questions are phrased differently from the documents, so dense retrieval has to match
// meaning, while each still shares a few distinctive words for sparse retrieval.
export const RETRIEVAL_CORPUS = [
  {
    id: 'sourdough',
    title: 'Baking sourdough',
    text: 'Sourdough bread rises with a starter of wild yeast and lactic acid bacteria instead of commercial yeast. Feed the starter flour and water daily, and bake the loaf in a hot Dutch oven for a crisp crust.',
  },
  {
    id: 'tides',
    title: 'Ocean tides',
    text: 'Tides are caused mainly by the gravitational pull of the Moon on the oceans, with a smaller contribution from the Sun. Most coasts see two high tides and two low tides every lunar day.',
  },
  {
    id: 'photosynthesis',
    title: 'Photosynthesis',
    text: 'Plants convert sunlight, water and carbon dioxide into glucose and oxygen in their chloroplasts. Chlorophyll absorbs red and blue light, which is why leaves look green.',
  },
  {
    id: 'tcp',
    title: 'TCP handshake',
    text: 'A TCP connection opens with a three-way handshake: the client sends SYN, the server answers SYN-ACK, and the client replies ACK. Only then does data flow, with sequence numbers for ordering.',
  },
  {
    id: 'marathon',
    title: 'Marathon training',
    text: 'Training for a marathon means building weekly mileage gradually, with one long run each week and an easy recovery pace most days. Taper during the last three weeks before the race.',
  },
  {
    id: 'vaccines',
    title: 'How vaccines work',
    text: 'Vaccines train the immune system by exposing it to a harmless piece or weakened form of a pathogen. Memory B and T cells then respond quickly if the real infection arrives.',
  },
  {
    id: 'volcano',
    title: 'Volcanic eruptions',
    text: 'Volcanoes erupt when magma, molten rock rich in dissolved gases, rises through the crust. Explosive eruptions happen when gas pressure in viscous magma is released suddenly.',
  },
  {
    id: 'compound-interest',
    title: 'Compound interest',
    text: 'Compound interest adds the interest earned back to the principal, so each period earns interest on a larger balance. Over decades, money grows exponentially rather than linearly.',
  },
  {
    id: 'chess-openings',
    title: 'Chess openings',
    text: 'In chess, good openings develop knights and bishops early, control the centre squares and castle the king to safety. The Sicilian Defence answers 1.e4 with c5.',
  },
  {
    id: 'coffee',
    title: 'Brewing coffee',
    text: 'For pour-over coffee, use water just off the boil, about 93 degrees Celsius, and a medium-fine grind. Bloom the grounds with a little water for thirty seconds before pouring the rest.',
  },
  {
    id: 'black-holes',
    title: 'Black holes',
    text: 'A black hole forms when a massive star collapses so far that its gravity prevents even light from escaping past the event horizon. Hawking radiation slowly evaporates it.',
  },
  {
    id: 'bees',
    title: 'Honey bees',
    text: 'Honey bees communicate the direction and distance of flowers to their hive mates with the waggle dance. A colony has one queen, thousands of female workers and some male drones.',
  },
];

export const RETRIEVAL_QUESTIONS = [
  { question: 'What makes sourdough loaves rise without store-bought yeast?', answer: 'sourdough' },
  { question: 'Why does the sea level go up and down twice a day near the coast?', answer: 'tides' },
  { question: 'How do green plants turn sunlight into sugar?', answer: 'photosynthesis' },
  { question: 'What packets are exchanged to open a TCP connection?', answer: 'tcp' },
  { question: 'How should I prepare my running for a 42 km race?', answer: 'marathon' },
  { question: 'How does an immunisation protect me from a disease?', answer: 'vaccines' },
  { question: 'What causes magma to explode out of a mountain?', answer: 'volcano' },
  { question: 'Why does savings interest grow faster over many years?', answer: 'compound-interest' },
  { question: 'What are the principles of a good chess opening?', answer: 'chess-openings' },
  { question: 'What water temperature is best for pour-over coffee?', answer: 'coffee' },
  { question: 'Why cannot light escape from a collapsed star?', answer: 'black-holes' },
  { question: 'How do bees tell each other where flowers are?', answer: 'bees' },
];
